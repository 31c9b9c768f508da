"""What the smbprotocol test clients share: a read-write open that
overwrites, the names in the share's root, and a path's streams."""
from smbprotocol.file_info import FileInformationClass, FileStreamInformation
from smbprotocol.open import (
    Open, CreateDisposition, CreateOptions, FileAttributes, ImpersonationLevel,
    ShareAccess, FilePipePrinterAccessMask, DirectoryAccessMask,
)


def open_rw(tree, name):
    """Opens `name` for reading and writing, created or emptied."""
    f = Open(tree, name)
    f.create(
        ImpersonationLevel.Impersonation,
        FilePipePrinterAccessMask.GENERIC_READ | FilePipePrinterAccessMask.GENERIC_WRITE,
        FileAttributes.FILE_ATTRIBUTE_NORMAL,
        ShareAccess.FILE_SHARE_READ,
        CreateDisposition.FILE_OVERWRITE_IF,
        CreateOptions.FILE_NON_DIRECTORY_FILE,
    )
    return f


def root_names(tree):
    """The names QUERY_DIRECTORY lists in the share's root."""
    d = Open(tree, "")
    d.create(
        ImpersonationLevel.Impersonation,
        DirectoryAccessMask.FILE_LIST_DIRECTORY,
        FileAttributes.FILE_ATTRIBUTE_DIRECTORY,
        ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE,
        CreateDisposition.FILE_OPEN,
        CreateOptions.FILE_DIRECTORY_FILE,
    )
    entries = d.query_directory("*", FileInformationClass.FILE_NAMES_INFORMATION)
    d.close()
    return [e["file_name"].get_value().decode("utf-16-le") for e in entries]


def streams_of(path, port):
    """(name, size) of every stream of `path`, from FileStreamInformation,
    through smbclient's high-level API."""
    from smbclient import open_file
    from smbclient._io import SMBFileTransaction, query_info

    with open_file(path, mode="rb", buffering=0, port=port) as f:
        with SMBFileTransaction(f) as t:
            query_info(t, FileStreamInformation, output_buffer_length=4096)
    return sorted((e["stream_name"].get_value(), e["stream_size"].get_value()) for e in t.results[0])
