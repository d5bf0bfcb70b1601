//! A minimal, safe wrapper around libnftables: one context, commands as text, output and errors
//! captured in buffers. Every `unsafe` call of the firewall lives here.
//!
//! A whole buffer given to [`Nft::run`] is ONE atomic transaction: either every command in it is
//! applied or none is. The context talks netlink in the network namespace of the thread that
//! created it (see [`Nft::new`]). libnftables is loaded when the first context is made.

use std::ffi::{c_char, c_int, c_uint, CStr, CString, NulError};
use std::ptr::NonNull;
use std::sync::OnceLock;

use libloading::Library;

/// `struct nft_ctx`, opaque.
#[repr(C)]
struct NftCtx {
    _private: [u8; 0],
}

const NFT_CTX_DEFAULT: u32 = 0;
const NFT_CTX_OUTPUT_JSON: c_uint = 1 << 4;
/// `nft -a`: rule handles in text listings.
const NFT_CTX_OUTPUT_HANDLE: c_uint = 1 << 3;

/// libnftables' soname (Debian: libnftables1). Loaded on first use, not linked: a den command that
/// never touches the firewall (`run --network none`, `ps`, ...) does not pay for loading it and the
/// five libraries it needs (~0.3 ms of every start).
const SONAME: &str = "libnftables.so.1";

type CtxNew = unsafe extern "C" fn(flags: u32) -> *mut NftCtx;
type CtxFn = unsafe extern "C" fn(ctx: *mut NftCtx) -> c_int;
type CtxFree = unsafe extern "C" fn(ctx: *mut NftCtx);
type CtxBuffer = unsafe extern "C" fn(ctx: *mut NftCtx) -> *const c_char;
type GetFlags = unsafe extern "C" fn(ctx: *mut NftCtx) -> c_uint;
type SetFlags = unsafe extern "C" fn(ctx: *mut NftCtx, flags: c_uint);
type RunCmd = unsafe extern "C" fn(ctx: *mut NftCtx, buf: *const c_char) -> c_int;

/// The functions of <nftables/libnftables.h> den calls, from the loaded library.
struct Api {
    ctx_new: CtxNew,
    ctx_free: CtxFree,
    buffer_output: CtxFn,
    buffer_error: CtxFn,
    get_output_buffer: CtxBuffer,
    get_error_buffer: CtxBuffer,
    output_get_flags: GetFlags,
    output_set_flags: SetFlags,
    run_cmd_from_buffer: RunCmd,
    /// Kept loaded for as long as the process runs: the pointers above point into it.
    _lib: Library,
}

impl Api {
    /// The process's one copy, loaded by the first caller.
    fn get() -> Result<&'static Api, NftError> {
        static API: OnceLock<Api> = OnceLock::new();
        if let Some(api) = API.get() {
            return Ok(api);
        }
        let loaded = Api::load().map_err(|e| NftError::Load(Box::new(e)))?;
        // A thread that lost the race drops its copy; dlopen counts references, so nothing unloads.
        let _ = API.set(loaded);
        Ok(API.get().expect("set just above"))
    }

    fn load() -> Result<Api, libloading::Error> {
        // SAFETY: loading libnftables runs its (and its dependencies') initialisers, which have no
        // preconditions: the same that happened when den linked it.
        let lib = unsafe { Library::new(SONAME) }?;
        // SAFETY: each symbol is a function of libnftables.h with exactly the signature of its type
        // here (nft_ctx_new(uint32_t), nft_run_cmd_from_buffer(struct nft_ctx *, const char *), ...).
        unsafe {
            Ok(Api {
                ctx_new: *lib.get(b"nft_ctx_new\0")?,
                ctx_free: *lib.get(b"nft_ctx_free\0")?,
                buffer_output: *lib.get(b"nft_ctx_buffer_output\0")?,
                buffer_error: *lib.get(b"nft_ctx_buffer_error\0")?,
                get_output_buffer: *lib.get(b"nft_ctx_get_output_buffer\0")?,
                get_error_buffer: *lib.get(b"nft_ctx_get_error_buffer\0")?,
                output_get_flags: *lib.get(b"nft_ctx_output_get_flags\0")?,
                output_set_flags: *lib.get(b"nft_ctx_output_set_flags\0")?,
                run_cmd_from_buffer: *lib.get(b"nft_run_cmd_from_buffer\0")?,
                _lib: lib,
            })
        }
    }
}

/// What went wrong talking to nftables.
#[derive(Debug, thiserror::Error)]
pub enum NftError {
    #[error(
        "nft: loading {} failed (Debian's package libnftables1 provides it)",
        SONAME
    )]
    Load(#[source] Box<libloading::Error>),
    #[error("nft: creating an nftables context failed (out of memory?)")]
    Context,
    #[error("nft: capturing nftables' {stream} in a buffer failed")]
    Buffer { stream: &'static str },
    #[error("nft: command text contains a NUL byte")]
    Nul(#[source] NulError),
    /// nft refused the commands; `text` is nft's own error report (it names the offending line).
    #[error("nft: {}", summary(.text))]
    Rejected { text: String },
}

impl NftError {
    /// nft's full error report, when nft refused the commands.
    pub fn nft_text(&self) -> Option<&str> {
        match self {
            NftError::Rejected { text } => Some(text),
            _ => None,
        }
    }

    /// The kernel answered ENOENT (a table, chain, set or element named in the commands is missing).
    /// libnftables reports errors as text only; den never calls setlocale, so it is strerror's C text.
    pub fn is_not_found(&self) -> bool {
        self.nft_text()
            .is_some_and(|t| t.contains("No such file or directory"))
    }
}

/// nft's multi-line report (`Error: ...` / offending line / carets) as one line.
fn summary(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('^'))
        .collect();
    let Some(first) = lines.iter().position(|l| l.contains("Error:")) else {
        return lines.join(" | ");
    };
    let errors = lines.iter().filter(|l| l.contains("Error:")).count();
    let mut out = lines[first].trim().to_string();
    if let Some(culprit) = lines.get(first + 1).filter(|l| !l.contains("Error:")) {
        out.push_str(&format!(" (in `{}`)", culprit.trim()));
    }
    if errors > 1 {
        out.push_str(&format!(" (and {} more errors)", errors - 1));
    }
    out
}

/// One libnftables context with captured output and error streams. Not `Send`: libnftables keeps
/// per-context state that is not meant to be shared across threads, and the netlink socket belongs
/// to the creating thread's network namespace anyway.
pub struct Nft {
    api: &'static Api,
    ctx: NonNull<NftCtx>,
}

impl Nft {
    /// A context whose netlink socket is opened in the calling thread's network namespace.
    pub fn new() -> Result<Self, NftError> {
        let api = Api::get()?;
        // SAFETY: nft_ctx_new has no preconditions; it returns NULL on allocation failure.
        let raw = unsafe { (api.ctx_new)(NFT_CTX_DEFAULT) };
        let nft = Nft {
            api,
            ctx: NonNull::new(raw).ok_or(NftError::Context)?,
        };
        // SAFETY: ctx is a live context owned by `nft`; these only switch its streams to buffers.
        if unsafe { (api.buffer_output)(nft.ctx.as_ptr()) } != 0 {
            return Err(NftError::Buffer { stream: "output" });
        }
        // SAFETY: as above.
        if unsafe { (api.buffer_error)(nft.ctx.as_ptr()) } != 0 {
            return Err(NftError::Buffer {
                stream: "error stream",
            });
        }
        Ok(nft)
    }

    /// Runs `commands` as one transaction; returns nft's (text) output.
    pub fn run(&mut self, commands: &str) -> Result<String, NftError> {
        self.run_with_flags(commands, None)
    }

    /// Runs `commands` (typically one `list`) with JSON output; returns the JSON text.
    pub fn run_json(&mut self, commands: &str) -> Result<String, NftError> {
        self.run_with_flags(commands, Some(NFT_CTX_OUTPUT_JSON))
    }

    /// Runs `commands` (typically one `list`) as `nft -a` would: text with `# handle N` comments.
    pub(crate) fn run_with_handles(&mut self, commands: &str) -> Result<String, NftError> {
        self.run_with_flags(commands, Some(NFT_CTX_OUTPUT_HANDLE))
    }

    fn run_with_flags(
        &mut self,
        commands: &str,
        extra: Option<c_uint>,
    ) -> Result<String, NftError> {
        let buf = CString::new(commands).map_err(NftError::Nul)?;
        let (api, ctx) = (self.api, self.ctx.as_ptr());
        // SAFETY: ctx is live and exclusively borrowed through &mut self.
        let saved = unsafe { (api.output_get_flags)(ctx) };
        if let Some(flags) = extra {
            // SAFETY: as above; only changes how output is formatted.
            unsafe { (api.output_set_flags)(ctx, saved | flags) };
        }
        // SAFETY: ctx is live; buf is a NUL-terminated string that outlives the call.
        let rc = unsafe { (api.run_cmd_from_buffer)(ctx, buf.as_ptr()) };
        if extra.is_some() {
            // SAFETY: as above; restores the flags read before.
            unsafe { (api.output_set_flags)(ctx, saved) };
        }
        // Reading a buffer also rewinds it, so both are read after every command: nothing stale
        // leaks into the next call.
        // SAFETY: ctx is live and buffered; the returned string stays valid until the next call on
        // ctx, and it is copied before that.
        let output = unsafe { copy_c_str((api.get_output_buffer)(ctx)) };
        // SAFETY: as above.
        let errors = unsafe { copy_c_str((api.get_error_buffer)(ctx)) };
        if rc == 0 {
            Ok(output)
        } else {
            Err(NftError::Rejected { text: errors })
        }
    }
}

/// # Safety
/// `p` is NULL or points to a NUL-terminated string valid for the duration of the call.
unsafe fn copy_c_str(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: guaranteed by the caller.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

impl Drop for Nft {
    fn drop(&mut self) {
        // SAFETY: ctx was returned by nft_ctx_new and is freed exactly once, here.
        unsafe { (self.api.ctx_free)(self.ctx.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::summary;

    #[test]
    fn summary_is_one_line_naming_the_culprit() {
        let text = "Error: Could not process rule: File exists\n\
                    add element ip den published { tcp . 8080 : 1.2.3.5 . 80 }\n\
                    \x20                              ^^^^^^^^^^\n";
        assert_eq!(
            summary(text),
            "Error: Could not process rule: File exists \
             (in `add element ip den published { tcp . 8080 : 1.2.3.5 . 80 }`)"
        );
    }

    #[test]
    fn summary_counts_further_errors() {
        let text = "<cmdline>:1:5-6: Error: syntax error\nfoo bar\n    ^^\n\
                    <cmdline>:2:1-3: Error: syntax error\nbaz\n^^^\n";
        let s = summary(text);
        assert!(
            s.starts_with("<cmdline>:1:5-6: Error: syntax error (in `foo bar`)"),
            "{s}"
        );
        assert!(s.ends_with("(and 1 more errors)"), "{s}");
        assert!(!s.contains('\n'));
    }
}
