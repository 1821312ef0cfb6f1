"""Product outputs of ``run``: COGs, previews, ``.sha1``, eo3, ``.proc-info.yaml`` and the STAC
item, in odc-stats' layout, written atomically to a folder on disk or on S3."""

from .cog import CogOptions, CogSettings, cog_bytes
from .fingerprint import FINGERPRINT_PROPERTY, input_fingerprint, product_fingerprint
from .metadata import FileInfo, eo3_document, product_definition, stac_item
from .store import LocalFolder, OutputFolder, S3Folder, is_s3_url, local_path, open_folder, s3_client
from .write import OutputFiles, is_task_done, stac_item_url, write_task_outputs

__all__ = [
    "CogOptions",
    "FINGERPRINT_PROPERTY",
    "CogSettings",
    "FileInfo",
    "LocalFolder",
    "OutputFiles",
    "OutputFolder",
    "S3Folder",
    "cog_bytes",
    "eo3_document",
    "input_fingerprint",
    "is_s3_url",
    "is_task_done",
    "local_path",
    "open_folder",
    "product_definition",
    "product_fingerprint",
    "s3_client",
    "stac_item",
    "stac_item_url",
    "write_task_outputs",
]
