"""Publishing exports to the Hugging Face Hub and pulling them back, through huggingface_hub.

Everything network- and cache-related is huggingface_hub's: HF_HOME, HF_HUB_CACHE, HF_ENDPOINT,
HF_HUB_OFFLINE and tokens (HF_TOKEN, `hf auth login`) work the usual way, and pulled files live in
the ordinary Hub cache. ganzoo adds what makes a GAN export safe and useful: only the export's own
files are fetched (pickle-format weights in a repo are never downloaded or loaded), revisions pin
exactly, errors are one sentence, and a model card the user wrote on the Hub is not overwritten.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._hub_ids import explain, parse
from ._text import escaped, one_line
from ._version import __version__
from .errors import ExportError, GanzooError
from .export.format import CARD, CONFIG, FILES, PICKLE_SUFFIXES, WEIGHTS, locate

log = logging.getLogger(__name__)

def pull(source: str, *, token: str | None = None) -> Path:
    """Download an export into the Hugging Face cache (or find it there offline); its local folder."""
    from huggingface_hub import snapshot_download

    repo, revision = parse(source)
    try:
        folder = Path(snapshot_download(
            repo, revision=revision, token=token, allow_patterns=list(FILES),
            library_name="ganzoo", library_version=__version__,
        ))
    except Exception as exc:  # noqa: BLE001 - huggingface_hub and httpx raise many types; each becomes one sentence
        raise GanzooError(explain(exc, repo, revision)) from None
    if not (folder / CONFIG).is_file() or not (folder / WEIGHTS).is_file():
        raise ExportError(_not_an_export(repo, revision, token))
    return folder


def _not_an_export(repo: str, revision: str | None, token: str | None) -> str:
    """Why a repo without our files is refused, naming any pickle-format weights it has instead."""
    from huggingface_hub import HfApi

    try:
        files = HfApi().list_repo_files(repo, revision=revision, token=token)
    except Exception:  # noqa: BLE001 - the listing is a courtesy; the plain message holds without it
        files = []
    pickles = [f for f in files if f.endswith(PICKLE_SUFFIXES)]
    if pickles:
        return (f"the Hub repo '{repo}' has pickle-format weights ({', '.join(escaped(p, 60) for p in pickles[:3])}) and no model.safetensors; "
                "ganzoo never loads pickles")
    return f"the Hub repo '{repo}' is not a ganzoo export: it lacks config.json or model.safetensors"


def push(export: str | Path, repo: str, variants: Mapping[str, Any], *, private: bool = False, revision: str | None = None, token: str | None = None,
         overwrite_card: bool = False, message: str | None = None) -> str:
    """Upload an export folder to ``repo`` in one commit (creating the repo and branch if needed);
    returns the commit's URL. A README.md on the Hub that ganzoo did not write is kept unless
    ``overwrite_card``. ``variants`` (the registry's) lets the export be loaded back before upload."""
    from huggingface_hub import CommitOperationAdd, HfApi

    from .export.card import CARD_MARK
    from .export.folder import load_export

    repo_id, rev = parse(repo)
    if rev:
        raise GanzooError(f"give the branch with --revision, not in the repo id '{repo}'")
    folder = locate(export)  # a run directory: push its export
    model = load_export(folder, variants)  # refuses anything that would not load back: checked before uploading
    api = HfApi(token=token, library_name="ganzoo", library_version=__version__)
    files = [f for f in FILES if (folder / f).is_file()]
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        if revision:
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        if CARD in files and not overwrite_card and api.file_exists(repo_id, CARD, revision=revision):
            remote_card = Path(api.hf_hub_download(repo_id, CARD, revision=revision)).read_text()
            if CARD_MARK not in remote_card:
                files.remove(CARD)
                log.warning("kept the README.md on the Hub: it was not written by ganzoo (--overwrite-card replaces it)")
        info = api.create_commit(
            repo_id,
            operations=[CommitOperationAdd(path_in_repo=f, path_or_fileobj=str(folder / f)) for f in files],
            commit_message=message or f"Upload {one_line(model.name, 80)} trained on {one_line(model.dataset, 80)} with ganzoo {__version__}",
            revision=revision,
        )
    except Exception as exc:  # noqa: BLE001 - any failure to publish is reported in one sentence, nothing committed
        raise GanzooError(_explain_push(exc, repo_id)) from None
    return info.commit_url


def _explain_push(exc: Exception, repo: str) -> str:
    from huggingface_hub.errors import HfHubHTTPError

    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        status = exc.response.status_code
        if status in (401, 403):
            return f"the Hub refused to write to '{repo}' ({status}): pass --token with write access or log in with `hf auth login`"
        return f"the Hub answered {status} while pushing to '{repo}'; nothing was committed"
    return f"pushing to '{repo}' failed ({type(exc).__name__}: {escaped(str(exc), 160) if str(exc) else 'no details'}); nothing was committed"
