"""The filesystems of the stages (by URL scheme), shared by the patches that list and re-read
staged files: DuckDB reads s3:// through the same s3fs instance."""

from __future__ import annotations

FILESYSTEMS: dict = {}
