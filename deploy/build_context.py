"""What `docker build` sends from the working tree: git's tracked and untracked-but-not-ignored
files, filtered by .dockerignore the way Docker filters them.

The image tag (deploy/image.py) and the S3 DAG bundle (deploy/dag_bundle.py) are computed from
these files, so an uncommitted or new file that goes into the image also changes its tag, and a
file Docker leaves out (docs, caches) changes neither.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import subprocess  # noqa: S404 - fixed git argv, never a shell
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def git(repo: Path, *args: str) -> str:
    command = ["git", *args]  # git from PATH, fixed arguments, no shell
    done = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=True)  # noqa: S603
    return done.stdout.strip()


def _paths(repo: Path, *args: str) -> set[str]:
    return {path for path in git(repo, *args, "-z").split("\0") if path}


def _pattern_regex(pattern: str) -> re.Pattern:
    """A .dockerignore pattern as Docker compiles it (moby patternmatcher): `*` and `?` stop at
    `/`, `**` crosses directories, `[...]` is a class, `\\` escapes."""
    out, i = "", 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
            out += ".*" if i >= len(pattern) else "(.*/)?"
            continue
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[":
            end = pattern.find("]", i)
            out += pattern[i : end + 1] if end > i else re.escape(char)
            i = end if end > i else i
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        else:
            out += re.escape(char)
        i += 1
    return re.compile(out)


def _in_context(repo: Path):
    """A predicate: does Docker send this repository path? Docker's rules: the last pattern
    that matches the path or one of its parent directories decides; `!` re-includes."""
    ignore = repo / ".dockerignore"
    lines = ignore.read_text().splitlines() if ignore.is_file() else []
    rules = []
    # Docker always sends the Dockerfile (the build's definition) and .dockerignore.
    for line in [*lines, "!Dockerfile", "!.dockerignore"]:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        excluded = not line.startswith("!")
        cleaned = posixpath.normpath(line.removeprefix("!").strip()).lstrip("/")
        if cleaned != ".":
            rules.append((excluded, _pattern_regex(cleaned)))

    def sent(path: str) -> bool:
        parts = path.split("/")
        candidates = [path] + ["/".join(parts[:n]) for n in range(1, len(parts))]
        ignored = False
        for excluded, regex in rules:
            if any(regex.fullmatch(candidate) for candidate in candidates):
                ignored = excluded
        return not ignored

    return sent


def context_files(repo: Path) -> list[str]:
    """Files of the build context as they are now in the working tree, sorted."""
    listed = _paths(repo, "ls-files", "--cached", "--others", "--exclude-standard")
    in_context = _in_context(repo)
    return sorted(p for p in listed if in_context(p) and (repo / p).is_file())


def changed_context_files(repo: Path) -> list[str]:
    """Context files that differ from HEAD: modified, deleted, staged or untracked (not ignored)."""
    changed = _paths(repo, "diff", "--name-only", "HEAD")
    changed |= _paths(repo, "ls-files", "--others", "--exclude-standard")
    in_context = _in_context(repo)
    return sorted(p for p in changed if in_context(p))


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digest(repo: Path, paths: list[str]) -> str:
    """One digest of these files' names, contents and executable bits (deleted ones count)."""
    total = hashlib.sha256()
    for name in sorted(paths):
        path = repo / name
        if path.is_file():
            state = f"{file_sha256(path)} {'x' if path.stat().st_mode & 0o111 else '-'}"
        else:
            state = "deleted"
        total.update(f"{name}\0{state}\0".encode())
    return total.hexdigest()
