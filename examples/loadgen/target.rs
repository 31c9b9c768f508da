//! One file on the server, reached over SMB2 or NFSv3.

use std::net::SocketAddr;
use std::time::Duration;

use polyshare_testsupport::nfs::{CreateHow, Fh, NfsClient, StableHow};
use polyshare_testsupport::smb::{FileId, SmbClient, wire};
use polyshare_testsupport::{Error, Result};

/// What a worker does to its file.
pub trait Target {
    /// Creates the file empty (or truncates an existing one) and opens it.
    fn create(&mut self) -> Result<()>;
    fn write(&mut self, offset: u64, data: &[u8], durable: bool) -> Result<u32>;
    /// Reads up to `len` bytes; returns the data and, when the protocol says
    /// so, whether the end of file was reached.
    fn read(&mut self, offset: u64, len: u32) -> Result<(Vec<u8>, Option<bool>)>;
    fn truncate(&mut self, size: u64) -> Result<()>;
    /// Closes and opens the file again; returns its size as the server reports it.
    fn reopen(&mut self) -> Result<u64>;
    /// Makes earlier writes durable (NFS COMMIT); a no-op where writes already are.
    fn flush(&mut self) -> Result<()>;
    /// Closes and deletes the file.
    fn finish(&mut self) -> Result<()>;
    /// Closes the file, leaving it in place.
    fn close(&mut self) -> Result<()>;
    fn max_io(&self) -> u32;
}

pub struct SmbTarget {
    client: SmbClient,
    name: String,
    fid: Option<FileId>,
}

impl SmbTarget {
    pub fn connect(addr: SocketAddr, timeout: Duration, dialect: u16, share: &str, name: String) -> Result<Self> {
        Ok(Self { client: SmbClient::login(addr, timeout, &[dialect], share)?, name, fid: None })
    }

    fn fid(&self) -> Result<FileId> {
        self.fid.ok_or_else(|| Error::Unexpected("file not open".into()))
    }

    fn close_handle(&mut self) -> Result<()> {
        match self.fid.take() {
            Some(fid) => self.client.close(fid),
            None => Ok(()),
        }
    }
}

impl Target for SmbTarget {
    fn create(&mut self) -> Result<()> {
        self.close_handle()?;
        let open = self.client.open_rw(&self.name, wire::FILE_OVERWRITE_IF)?;
        self.fid = Some(open.file_id);
        if open.end_of_file != 0 {
            return Err(Error::Unexpected(format!("OVERWRITE_IF left EndOfFile {}", open.end_of_file)));
        }
        Ok(())
    }
    fn write(&mut self, offset: u64, data: &[u8], _durable: bool) -> Result<u32> {
        let fid = self.fid()?;
        self.client.write(fid, offset, data)
    }
    fn read(&mut self, offset: u64, len: u32) -> Result<(Vec<u8>, Option<bool>)> {
        let fid = self.fid()?;
        Ok((self.client.read(fid, offset, len)?, None))
    }
    fn truncate(&mut self, size: u64) -> Result<()> {
        let fid = self.fid()?;
        self.client.set_end_of_file(fid, size)
    }
    fn reopen(&mut self) -> Result<u64> {
        self.close_handle()?;
        let open = self.client.open_rw(&self.name, wire::FILE_OPEN)?;
        self.fid = Some(open.file_id);
        Ok(open.end_of_file)
    }
    fn flush(&mut self) -> Result<()> {
        Ok(())
    }
    fn finish(&mut self) -> Result<()> {
        let fid = self.fid()?;
        self.client.set_delete_pending(fid)?;
        self.close_handle()
    }
    fn close(&mut self) -> Result<()> {
        self.close_handle()
    }
    fn max_io(&self) -> u32 {
        let (r, w) = self.client.max_io();
        r.min(w)
    }
}

pub struct NfsTarget {
    client: NfsClient,
    root: Fh,
    name: String,
    fh: Option<Fh>,
    /// The verifier of unstable writes not yet committed.
    uncommitted: Option<[u8; 8]>,
}

impl NfsTarget {
    pub fn connect(addr: SocketAddr, timeout: Duration, export: &str, name: String) -> Result<Self> {
        let mut client = NfsClient::connect(addr, timeout)?;
        let root = client.mount(export)?;
        Ok(Self { client, root, name, fh: None, uncommitted: None })
    }

    fn fh(&self) -> Result<&Fh> {
        self.fh.as_ref().ok_or_else(|| Error::Unexpected("file not looked up".into()))
    }
}

impl Target for NfsTarget {
    fn create(&mut self) -> Result<()> {
        let fh = self.client.create(&self.root, &self.name, CreateHow::Unchecked)?;
        self.client.setattr_size(&fh, 0)?;
        self.fh = Some(fh);
        Ok(())
    }
    fn write(&mut self, offset: u64, data: &[u8], durable: bool) -> Result<u32> {
        let fh = self.fh()?.clone();
        let stable = if durable { StableHow::FileSync } else { StableHow::Unstable };
        let reply = self.client.write(&fh, offset, data, stable)?;
        if reply.committed < stable {
            return Err(Error::Unexpected(format!("WRITE {stable:?} answered {:?}", reply.committed)));
        }
        if reply.committed == StableHow::Unstable {
            match self.uncommitted {
                Some(v) if v != reply.verf => return Err(Error::Unexpected("write verifier changed".into())),
                _ => self.uncommitted = Some(reply.verf),
            }
        }
        Ok(reply.count)
    }
    fn read(&mut self, offset: u64, len: u32) -> Result<(Vec<u8>, Option<bool>)> {
        let fh = self.fh()?.clone();
        let r = self.client.read(&fh, offset, len)?;
        Ok((r.data, Some(r.eof)))
    }
    fn truncate(&mut self, size: u64) -> Result<()> {
        let fh = self.fh()?.clone();
        self.client.setattr_size(&fh, size)
    }
    fn reopen(&mut self) -> Result<u64> {
        self.flush()?;
        let fh = self.client.lookup(&self.root, &self.name)?;
        if Some(&fh) != self.fh.as_ref() {
            return Err(Error::Unexpected("LOOKUP returned a different file handle".into()));
        }
        Ok(self.client.getattr(&fh)?.size)
    }
    fn flush(&mut self) -> Result<()> {
        let Some(verf) = self.uncommitted.take() else { return Ok(()) };
        let fh = self.fh()?.clone();
        if self.client.commit(&fh)? != verf {
            return Err(Error::Unexpected("COMMIT verifier differs from WRITE's: data may be lost".into()));
        }
        Ok(())
    }
    fn finish(&mut self) -> Result<()> {
        self.flush()?;
        self.fh = None;
        self.client.remove(&self.root, &self.name)
    }
    fn close(&mut self) -> Result<()> {
        self.flush()?;
        self.fh = None;
        Ok(())
    }
    fn max_io(&self) -> u32 {
        65536
    }
}
