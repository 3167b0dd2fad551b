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

; One stub per vector, 8 bytes each, at F000:1000 + 8 * vector. Interrupts are enabled during
; a service, as the IBM PC BIOS does (its int 10h, 13h, 16h and 1Ah start with STI): a timer
; tick that comes due during a call is taken at once.
;   +0  sti
;   +1  nop                 (ends STI's one-instruction shadow before the call)
;   +2  out BIOS_PORT, al   the call; picovmm sees IP = stub + 4
;   +4  iret
; A service that must wait (a key, a delay) sends IP back to +0: pending interrupts are taken,
; then the call is made again with the same registers.
times 0x1000 - ($ - $$) db 0
vector_stubs:
%rep 256
    sti
    nop
    out BIOS_PORT, al
    iret
    times 3 db 0
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

; Hardware interrupt handlers (IRQ 1-7: int 09h-0Fh; IRQ 8-15: int 70h-77h), 4 bytes each at
; F000:1810 + 4 * (IRQ - 1): the call acknowledges the interrupt; no STI before the EOI.
times 0x1810 - ($ - $$) db 0
irq_stubs:
%rep 15
    out BIOS_PORT, al
    iret
    db 0
%endrep

; F000:E05B, where the reset vector leads (a guest that jumps to FFFF:0000 to reboot):
; picovmm ends the run as a reset.
; IRQ 12, the PS/2 mouse: the BIOS takes the byte; with a whole packet and a handler set
; through int 15h AX=C207h it says so in AX and gives status, X and Y in BX, CX, DX, which are
; pushed (with a zero word) for a far call of the handler kept at 0000:04B4.
times 0x1850 - ($ - $$) db 0
mouse_irq:
    push ds
    push ax
    push bx
    push cx
    push dx
    out BIOS_PORT, al
    test ax, ax
    jz .eoi
    push bx
    push cx
    push dx
    push word 0
    xor ax, ax
    mov ds, ax
    call far [0x04B4]
    add sp, 8
.eoi:
    mov al, 0x20
    out 0xA0, al
    out 0x20, al
    pop dx
    pop cx
    pop bx
    pop ax
    pop ds
    iret

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
