; bios.asm -- the code of picovmm's BIOS ROM (segment F000, 64 KiB at 0xF0000). The services
; themselves are written in Rust (crates/vmm-bios); this ROM only holds the stubs the guest's
; interrupt vectors point at. Each stub traps to picovmm with one `out` to BIOS_PORT; picovmm
; works on the guest's registers and memory, then the stub returns with `iret` (the service
; sets CF/ZF in the flags image on the stack).
;
; The layout is fixed: crates/vmm-bios/src/rom.rs names these offsets and a unit test checks
; them against this file's bytes. picovmm adds the data tables (fonts, configuration table,
; diskette parameters, date, model byte) at power-on.
;
; nasm -f bin -o crates/vmm-bios/rom/bios.bin crates/vmm-bios/rom/bios.asm

BITS 16
ORG 0

BIOS_PORT equ 0xEF

signature:
    db "picovmm BIOS", 0

; One stub per vector, 8 bytes each, at F000:1000 + 8 * vector.
;   +0  out BIOS_PORT, al   the call; picovmm sees IP = stub + 2
;   +2  iret
;   +3  sti                 picovmm sends IP here when the service waits (a key, a delay):
;   +4  nop                 interrupts are taken here, then the call is made again
;   +5  cli
;   +6  jmp short +0
times 0x1000 - ($ - $$) db 0
vector_stubs:
%assign v 0
%rep 256
    out BIOS_PORT, al
    iret
    sti
    nop
    cli
    jmp short $ - 6
%assign v v + 1
%endrep

; IRQ 0 (int 08h): the tick is counted by picovmm, then the user's int 1Ch hook runs, as on
; every PC BIOS.
times 0x1800 - ($ - $$) db 0
timer_irq:
    out BIOS_PORT, al
    int 0x1C
    iret

; The default int 1Ch hook, and the target of vectors a BIOS leaves doing nothing.
times 0x1808 - ($ - $$) db 0
dummy_iret:
    iret

; F000:E05B, where the reset vector leads (a guest that jumps to FFFF:0000 to reboot):
; picovmm ends the run as a reset.
times 0xE05B - ($ - $$) db 0
post:
    out BIOS_PORT, al
    hlt
    jmp short post

; The reset vector.
times 0xFFF0 - ($ - $$) db 0
reset_vector:
    jmp 0xF000:0xE05B

times 0x10000 - ($ - $$) db 0
