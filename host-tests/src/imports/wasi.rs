//! The WASI preview1 functions a Rust `wasm32-wasip1` proxy-wasm module
//! imports, as Envoy's proxy-wasm host provides them: stdout/stderr go to the
//! log, there is no file system, the clocks read the shared [`Clock`](crate::Clock).

use wasmtime::Caller;

use super::{check, read, wasi_errno, write, write_u32, write_u64, Defs, Fault, HResult};
use crate::abi::{errno, LogLevel};
use crate::http::LogSource;
use crate::state::HostState;

type C<'a> = Caller<'a, HostState>;

const WASI: &str = "wasi_snapshot_preview1";

pub(super) fn define(d: &mut Defs<'_>) -> wasmtime::Result<()> {
    d.wrap(WASI, "fd_write", |c: C<'_>, fd: i32, iovs: i32, n: i32, out: i32| {
        wasi_errno(fd_write(c, fd, iovs, n, out))
    })?;
    d.wrap(
        WASI,
        "fd_read",
        |_c: C<'_>, _fd: i32, _iovs: i32, _n: i32, _out: i32| Ok(errno::NOSYS),
    )?;
    // Envoy pretends these succeed.
    d.wrap(WASI, "fd_close", |_c: C<'_>, _fd: i32| Ok(errno::SUCCESS))?;
    d.wrap(
        WASI,
        "fd_seek",
        |_c: C<'_>, _fd: i32, _offset: i64, _whence: i32, _out: i32| Ok(errno::SUCCESS),
    )?;
    d.wrap(WASI, "fd_fdstat_get", |mut c: C<'_>, fd: i32, out: i32| {
        if fd != 1 && fd != 2 {
            return Ok(errno::BADF);
        }
        // filetype 0, flags 0, rights_base = FD_WRITE (64), rights_inheriting 0.
        let mut stat = [0u8; 24];
        stat[8] = 64;
        wasi_errno(write(&mut c, out, &stat))
    })?;
    // No preopened directories: lets wasi-libc's preopen scan stop at once.
    d.wrap(WASI, "fd_prestat_get", |_c: C<'_>, _fd: i32, _out: i32| Ok(errno::BADF))?;
    d.wrap(
        WASI,
        "fd_prestat_dir_name",
        |_c: C<'_>, _fd: i32, _path: i32, _len: i32| Ok(errno::BADF),
    )?;
    d.wrap(WASI, "environ_sizes_get", |mut c: C<'_>, count: i32, size: i32| {
        let env = c.data().plugin.env.clone();
        let bytes: usize = env.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        let r = write_u32(&mut c, count, env.len() as u32).and_then(|_| write_u32(&mut c, size, bytes as u32));
        wasi_errno(r)
    })?;
    d.wrap(WASI, "environ_get", |mut c: C<'_>, array: i32, buf: i32| {
        let env = c.data().plugin.env.clone();
        let r = (|| {
            let mut at = buf as u32;
            for (i, (k, v)) in env.iter().enumerate() {
                let entry = [k.as_bytes(), b"=", v.as_bytes(), b"\0"].concat();
                write_u32(&mut c, (array as u32).wrapping_add(4 * i as u32) as i32, at)?;
                write(&mut c, at as i32, &entry)?;
                at = at.wrapping_add(entry.len() as u32);
            }
            Ok(())
        })();
        wasi_errno(r)
    })?;
    d.wrap(WASI, "args_sizes_get", |mut c: C<'_>, argc: i32, size: i32| {
        let r = write_u32(&mut c, argc, 0).and_then(|_| write_u32(&mut c, size, 0));
        wasi_errno(r)
    })?;
    d.wrap(WASI, "args_get", |_c: C<'_>, _argv: i32, _buf: i32| Ok(errno::SUCCESS))?;
    d.wrap(
        WASI,
        "clock_time_get",
        |mut c: C<'_>, id: i32, _precision: i64, out: i32| {
            // 0 = realtime, 1 = monotonic; both read the shared clock.
            if id != 0 && id != 1 {
                return Ok(errno::NOTSUP);
            }
            let now = c.data().clock.now_nanos();
            wasi_errno(write_u64(&mut c, out, now))
        },
    )?;
    d.wrap(WASI, "clock_res_get", |mut c: C<'_>, id: i32, out: i32| {
        if id != 0 && id != 1 {
            return Ok(errno::NOTSUP);
        }
        wasi_errno(write_u64(&mut c, out, 1))
    })?;
    d.wrap(WASI, "random_get", |mut c: C<'_>, buf: i32, len: i32| {
        let len = len as u32 as usize;
        if len > 1 << 20 {
            return Ok(errno::INVAL);
        }
        let r = check(&c, buf, len).and_then(|_| {
            let mut bytes = Vec::with_capacity(len + 8);
            while bytes.len() < len {
                let word = c.data_mut().next_random();
                bytes.extend_from_slice(&word.to_le_bytes());
            }
            bytes.truncate(len);
            write(&mut c, buf, &bytes)
        });
        wasi_errno(r)
    })?;
    d.wrap(WASI, "sched_yield", |_c: C<'_>| Ok(errno::SUCCESS))?;
    d.wrap(
        WASI,
        "poll_oneoff",
        |_c: C<'_>, _in: i32, _out: i32, _n: i32, _events: i32| Ok(errno::NOSYS),
    )?;
    d.wrap(WASI, "proc_exit", |_c: C<'_>, code: i32| -> wasmtime::Result<()> {
        Err(wasmtime::format_err!("the guest called proc_exit({code})"))
    })?;
    Ok(())
}

/// Envoy's `fd_write`: stdout is logged at info, stderr at error, one log
/// line per call with a trailing newline removed; other descriptors are BADF.
fn fd_write(mut c: C<'_>, fd: i32, iovs: i32, count: i32, out: i32) -> HResult {
    let (level, source) = match fd {
        1 => (LogLevel::Info, LogSource::Stdout),
        2 => (LogLevel::Error, LogSource::Stderr),
        _ => return Err(Fault::Errno(errno::BADF)),
    };
    let mut text = Vec::new();
    for i in 0..count as u32 {
        let at = (iovs as u32)
            .checked_add(i.checked_mul(8).ok_or(Fault::Errno(errno::FAULT))?)
            .ok_or(Fault::Errno(errno::FAULT))?;
        let iov = read(&c, at as i32, 8)?;
        let ptr = u32::from_le_bytes([iov[0], iov[1], iov[2], iov[3]]);
        let len = u32::from_le_bytes([iov[4], iov[5], iov[6], iov[7]]);
        if len > 0 {
            text.extend_from_slice(&read(&c, ptr as i32, len as i32)?);
        }
    }
    let written = text.len();
    if text.last() == Some(&b'\n') {
        text.pop();
    }
    if written > 0 {
        let message = String::from_utf8_lossy(&text).into_owned();
        c.data_mut().log(level, message, source);
    }
    write_u32(&mut c, out, written as u32)
}
