//! An ArrayBuffer allocator with a byte budget, so memory outside the V8 heap counts too.
//!
//! V8's heap limit does not cover ArrayBuffer backing stores. This allocator refuses an
//! allocation that would pass the budget by returning null, which V8 turns into a
//! `RangeError` in the script: the extension fails, the process does not.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use deno_core::v8;

/// Bytes an isolate's ArrayBuffers may hold at once.
pub struct BufferBudget {
    used: AtomicUsize,
    max: usize,
    refused: AtomicBool,
}

impl BufferBudget {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self { used: AtomicUsize::new(0), max, refused: AtomicBool::new(false) })
    }

    /// Whether an allocation was ever refused.
    pub fn refused(&self) -> bool {
        self.refused.load(Ordering::SeqCst)
    }

    pub fn used(&self) -> usize {
        self.used.load(Ordering::SeqCst)
    }

    fn reserve(&self, len: usize) -> bool {
        let reserved = self.used.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| used.checked_add(len).filter(|total| *total <= self.max));
        if reserved.is_err() {
            self.refused.store(true, Ordering::SeqCst);
        }
        reserved.is_ok()
    }
}

unsafe extern "C" fn allocate(budget: &BufferBudget, len: usize) -> *mut c_void {
    if !budget.reserve(len) {
        return std::ptr::null_mut();
    }
    // SAFETY: calloc with a non-zero size; a null result is passed on to V8 as failure.
    let ptr = unsafe { libc::calloc(len.max(1), 1) };
    if ptr.is_null() {
        budget.used.fetch_sub(len, Ordering::SeqCst);
    }
    ptr
}

unsafe extern "C" fn allocate_uninitialized(budget: &BufferBudget, len: usize) -> *mut c_void {
    if !budget.reserve(len) {
        return std::ptr::null_mut();
    }
    // SAFETY: malloc with a non-zero size; a null result is passed on to V8 as failure.
    let ptr = unsafe { libc::malloc(len.max(1)) };
    if ptr.is_null() {
        budget.used.fetch_sub(len, Ordering::SeqCst);
    }
    ptr
}

unsafe extern "C" fn free(budget: &BufferBudget, data: *mut c_void, len: usize) {
    budget.used.fetch_sub(len, Ordering::SeqCst);
    // SAFETY: V8 frees only what this allocator returned, exactly once.
    unsafe { libc::free(data) };
}

unsafe extern "C" fn drop_budget(budget: *const BufferBudget) {
    // SAFETY: `budget` is the pointer `Arc::into_raw` produced in `allocator`; V8 calls
    // this once, when the allocator itself is destroyed.
    drop(unsafe { Arc::from_raw(budget) });
}

static VTABLE: v8::RustAllocatorVtable<BufferBudget> = v8::RustAllocatorVtable { allocate, allocate_uninitialized, free, drop: drop_budget };

/// An allocator charging `budget`; hand it to `CreateParams::array_buffer_allocator`.
pub fn allocator(budget: &Arc<BufferBudget>) -> v8::UniqueRef<v8::Allocator> {
    // SAFETY: the raw pointer stays valid until V8 calls `drop_budget`, which releases the
    // reference taken here; BufferBudget is Send + Sync.
    unsafe { v8::new_rust_allocator(Arc::into_raw(budget.clone()), &VTABLE) }
}
