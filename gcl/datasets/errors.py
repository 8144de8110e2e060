"""Errors raised by :mod:`gcl.datasets`."""

from __future__ import annotations

__all__ = ["DatasetNotFoundError"]


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's raw files are not on disk and could not be downloaded.

    The message names the dataset, the directory where the files must be put, the
    file names PyG expects there, and the ``GCL_DATA`` environment variable.

    Args:
        message (str): The full explanation.
        name (str, optional): Canonical dataset name. (default: :obj:`None`)
        raw_dir (str, optional): Directory the files must go into.
            (default: :obj:`None`)
        files (list[str], optional): Expected raw file names. (default: :obj:`None`)
    """

    def __init__(
        self,
        message: str,
        name: str | None = None,
        raw_dir: str | None = None,
        files: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.name = name
        self.raw_dir = raw_dir
        self.files = list(files or [])

    def __str__(self) -> str:
        return str(self.args[0])
