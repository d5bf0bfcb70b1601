//! A minimal, safe wrapper around libnftables: one context, commands as text, output and errors
//! captured in buffers. Every `unsafe` call of the firewall lives here.
//!
//! A whole buffer given to [`Nft::run`] is ONE atomic transaction: either every command in it is
//! applied or none is. The context talks netlink in the network namespace of the thread that
//! created it (see [`Nft::new`]).

use std::ffi::{c_char, c_int, c_uint, CStr, CString, NulError};
use std::ptr::NonNull;

/// `struct nft_ctx`, opaque.
#[repr(C)]
struct NftCtx {
    _private: [u8; 0],
}

const NFT_CTX_DEFAULT: u32 = 0;
const NFT_CTX_OUTPUT_HANDLE: c_uint = 1 << 3;
const NFT_CTX_OUTPUT_JSON: c_uint = 1 << 4;

// Linked by build.rs (`cargo:rustc-link-lib=nftables`).
extern "C" {
    fn nft_ctx_new(flags: u32) -> *mut NftCtx;
    fn nft_ctx_free(ctx: *mut NftCtx);
    fn nft_ctx_buffer_output(ctx: *mut NftCtx) -> c_int;
    fn nft_ctx_buffer_error(ctx: *mut NftCtx) -> c_int;
    fn nft_ctx_get_output_buffer(ctx: *mut NftCtx) -> *const c_char;
    fn nft_ctx_get_error_buffer(ctx: *mut NftCtx) -> *const c_char;
    fn nft_ctx_output_get_flags(ctx: *mut NftCtx) -> c_uint;
    fn nft_ctx_output_set_flags(ctx: *mut NftCtx, flags: c_uint);
    fn nft_run_cmd_from_buffer(ctx: *mut NftCtx, buf: *const c_char) -> c_int;
}

/// What went wrong talking to nftables.
#[derive(Debug, thiserror::Error)]
pub enum NftError {
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
    ctx: NonNull<NftCtx>,
}

impl Nft {
    /// A context whose netlink socket is opened in the calling thread's network namespace.
    pub fn new() -> Result<Self, NftError> {
        // SAFETY: nft_ctx_new has no preconditions; it returns NULL on allocation failure.
        let raw = unsafe { nft_ctx_new(NFT_CTX_DEFAULT) };
        let nft = Nft {
            ctx: NonNull::new(raw).ok_or(NftError::Context)?,
        };
        // SAFETY: ctx is a live context owned by `nft`; these only switch its streams to buffers.
        if unsafe { nft_ctx_buffer_output(nft.ctx.as_ptr()) } != 0 {
            return Err(NftError::Buffer { stream: "output" });
        }
        // SAFETY: as above.
        if unsafe { nft_ctx_buffer_error(nft.ctx.as_ptr()) } != 0 {
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

    /// Runs `commands` (typically one `list`) with text output that ends each object's line with
    /// `# handle N`, so it can be matched with the JSON listing.
    pub fn run_with_handles(&mut self, commands: &str) -> Result<String, NftError> {
        self.run_with_flags(commands, Some(NFT_CTX_OUTPUT_HANDLE))
    }

    fn run_with_flags(
        &mut self,
        commands: &str,
        extra: Option<c_uint>,
    ) -> Result<String, NftError> {
        let buf = CString::new(commands).map_err(NftError::Nul)?;
        let ctx = self.ctx.as_ptr();
        // SAFETY: ctx is live and exclusively borrowed through &mut self.
        let saved = unsafe { nft_ctx_output_get_flags(ctx) };
        if let Some(flags) = extra {
            // SAFETY: as above; only changes how output is formatted.
            unsafe { nft_ctx_output_set_flags(ctx, saved | flags) };
        }
        // SAFETY: ctx is live; buf is a NUL-terminated string that outlives the call.
        let rc = unsafe { nft_run_cmd_from_buffer(ctx, buf.as_ptr()) };
        if extra.is_some() {
            // SAFETY: as above; restores the flags read before.
            unsafe { nft_ctx_output_set_flags(ctx, saved) };
        }
        // Reading a buffer also rewinds it, so both are read after every command: nothing stale
        // leaks into the next call.
        // SAFETY: ctx is live and buffered; the returned string stays valid until the next call on
        // ctx, and it is copied before that.
        let output = unsafe { copy_c_str(nft_ctx_get_output_buffer(ctx)) };
        // SAFETY: as above.
        let errors = unsafe { copy_c_str(nft_ctx_get_error_buffer(ctx)) };
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
        unsafe { nft_ctx_free(self.ctx.as_ptr()) };
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
