//! [`VcpuState`] as bytes, for snapshot files: each KVM structure as the kernel lays it out,
//! in a fixed order with lengths, so that a changed layout is refused instead of misread.

use kvm_bindings::{
    kvm_debugregs, kvm_fpu, kvm_mp_state, kvm_msr_entry, kvm_regs, kvm_sregs, kvm_vcpu_events,
    kvm_xcrs,
};

use super::VcpuState;

/// The bytes of a plain KVM structure.
fn bytes_of<T: Copy>(v: &T) -> &[u8] {
    // SAFETY: the KVM structures encoded here are plain-old-data kernel ABI structs of integers
    // (their padding is spelled out as fields), fully initialised (zeroed by `Default`, then
    // written by the kernel), so every byte may be read.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), std::mem::size_of::<T>()) }
}

/// A plain KVM structure from exactly its size in bytes.
fn from_bytes<T: Copy + Default>(b: &[u8]) -> Option<T> {
    if b.len() != std::mem::size_of::<T>() {
        return None;
    }
    let mut v = T::default();
    // SAFETY: `v` is a plain-old-data struct of integers, for which every bit pattern is a
    // valid value, and `b` holds exactly its size.
    unsafe {
        std::ptr::copy_nonoverlapping(b.as_ptr(), (&mut v as *mut T).cast::<u8>(), b.len());
    }
    Some(v)
}

fn put(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self) -> Option<&'a [u8]> {
        let len = u32::from_le_bytes(self.0.get(..4)?.try_into().ok()?) as usize;
        let b = self.0.get(4..4 + len)?;
        self.0 = &self.0[4 + len..];
        Some(b)
    }
}

impl VcpuState {
    /// The state as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put(&mut out, bytes_of(&self.regs));
        put(&mut out, bytes_of(&self.sregs));
        put(&mut out, bytes_of(&self.fpu));
        let xsave: Vec<u8> = self
            .xsave
            .as_ref()
            .map(|x| x.iter().flat_map(|w| w.to_le_bytes()).collect())
            .unwrap_or_default();
        put(&mut out, &xsave);
        put(
            &mut out,
            self.xcrs.as_ref().map_or(&[][..], |x| bytes_of(x)),
        );
        put(&mut out, bytes_of(&self.debugregs));
        let msrs: Vec<u8> = self
            .msrs
            .iter()
            .flat_map(|m| bytes_of(m).to_vec())
            .collect();
        put(&mut out, &msrs);
        put(&mut out, bytes_of(&self.mp_state));
        put(&mut out, bytes_of(&self.events));
        out
    }

    /// A state from [`VcpuState::to_bytes`]; `None` when the bytes are not one (another layout).
    pub fn from_bytes(b: &[u8]) -> Option<VcpuState> {
        let mut r = Reader(b);
        let regs = from_bytes::<kvm_regs>(r.take()?)?;
        let sregs = from_bytes::<kvm_sregs>(r.take()?)?;
        let fpu = from_bytes::<kvm_fpu>(r.take()?)?;
        let xsave = r.take()?;
        let xsave = (!xsave.is_empty()).then(|| {
            xsave
                .chunks_exact(4)
                .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
                .collect()
        });
        let xcrs = r.take()?;
        let xcrs = if xcrs.is_empty() {
            None
        } else {
            Some(from_bytes::<kvm_xcrs>(xcrs)?)
        };
        let debugregs = from_bytes::<kvm_debugregs>(r.take()?)?;
        let msr_size = std::mem::size_of::<kvm_msr_entry>();
        let msrs = r.take()?;
        if msrs.len() % msr_size != 0 {
            return None;
        }
        let msrs = msrs
            .chunks_exact(msr_size)
            .map(from_bytes::<kvm_msr_entry>)
            .collect::<Option<Vec<_>>>()?;
        let mp_state = from_bytes::<kvm_mp_state>(r.take()?)?;
        let events = from_bytes::<kvm_vcpu_events>(r.take()?)?;
        if !r.0.is_empty() {
            return None;
        }
        Some(VcpuState {
            regs,
            sregs,
            fpu,
            xsave,
            xcrs,
            debugregs,
            msrs,
            mp_state,
            events,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_state_round_trips_through_bytes() {
        let mut state = VcpuState {
            regs: kvm_regs::default(),
            sregs: kvm_sregs::default(),
            fpu: kvm_fpu::default(),
            xsave: Some(vec![7; 1024]),
            xcrs: None,
            debugregs: kvm_debugregs::default(),
            msrs: vec![kvm_msr_entry {
                index: 0x10,
                data: 42,
                ..Default::default()
            }],
            mp_state: kvm_mp_state::default(),
            events: kvm_vcpu_events::default(),
        };
        state.regs.rip = 0x7C00;
        state.sregs.cs.selector = 0x07C0;
        let bytes = state.to_bytes();
        let back = VcpuState::from_bytes(&bytes).expect("decodes");
        assert_eq!(back.regs.rip, 0x7C00);
        assert_eq!(back.sregs.cs.selector, 0x07C0);
        assert_eq!(back.msrs[0].data, 42);
        assert_eq!(back.xsave.as_deref(), Some(&[7u32; 1024][..]));
        assert!(VcpuState::from_bytes(&bytes[..bytes.len() - 1]).is_none());
    }
}
