"""Hub repo ids and the Hub client's failures as one sentence, for model and dataset repos alike.

Below both users of the Hub (``ganzoo._hub`` for exports, ``ganzoo.data.hub`` for datasets), so
neither reaches up into the other; it imports nothing of ganzoo's but its text helpers and errors.
"""

from __future__ import annotations

from ._text import escaped
from .errors import GanzooError

PREFIX = "hf-hub:"


def parse(source: str, kind: str = "model") -> tuple[str, str | None]:
    """``"hf-hub:user/name@rev"`` or ``"user/name@rev"`` -> (repo id, revision or None); the repo id
    is checked by huggingface_hub's own validator, and must name a user or organisation."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    repo, _, revision = source.removeprefix(PREFIX).partition("@")
    try:
        validate_repo_id(repo)
    except HFValidationError:
        repo = ""
    if repo.count("/") != 1 or (revision == "" and "@" in source):
        raise GanzooError(f"'{source}' is not a Hub {kind} id: expected user/name or user/name@revision")
    return repo, revision or None


def explain(exc: Exception, repo: str, revision: str | None, kind: str = "model") -> str:
    """What went wrong fetching ``repo`` (a ``kind`` repo), in one sentence: huggingface_hub and
    httpx raise many exception types, and a user needs to know only which case they are in."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"'{repo}'" + (f" at revision '{revision}'" if revision else "")
    if isinstance(exc, RevisionNotFoundError):
        return f"the Hub repo '{repo}' has no revision '{revision}'"
    if isinstance(exc, GatedRepoError):
        return f"the Hub repo '{repo}' is gated: accept its conditions on the Hub and pass a token"
    if isinstance(exc, RepositoryNotFoundError):
        how = "pass --token or log in" if kind == "model" else "set HF_TOKEN or log in"
        return f"no {kind} repo '{repo}' on {constants.ENDPOINT} (if it is private, {how} with `hf auth login`)"
    if isinstance(exc, (LocalEntryNotFoundError, OfflineModeIsEnabled)):
        return f"{where} is not in the Hugging Face cache ({constants.HF_HUB_CACHE}) and the Hub cannot be reached (offline)"
    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        return f"the Hub answered {exc.response.status_code} while downloading {where}; nothing was loaded, try again"
    return f"downloading {where} failed ({type(exc).__name__}: {escaped(str(exc), 160) if str(exc) else 'no details'}); nothing was loaded"
