; lm-ticks.asm -- the same first timer in a 64-bit kernel: entered by picovmm in long mode
; (identity-mapped, code selector 0x18), it builds a 64-bit IDT with a gate for vector 0x20,
; remaps the PIC to 0x20/0x28, runs the PIT at 100 Hz and idles in `sti; hlt` until 50 ticks
; have come, then prints the count on COM1 and exits with 0x10 (status 33).
%include "picovmm.inc"
%include "pc.inc"

[BITS 64]
[ORG 0x7C00]

IDT     equ 0x1000              ; 256 gates of 16 bytes
TICKS   equ 50

start:
    cli
    mov rsp, 0x7C00
    mov rdi, IDT
    mov rcx, 256
.gate:
    lea rax, [rel ignore]
    call set_gate
    add rdi, 16
    loop .gate
    mov rdi, IDT + 0x20 * 16
    lea rax, [rel tick]
    call set_gate
    lidt [rel idtr]
    PIC_INIT 0x20, 0x28
    PIT_CHANNEL0 2, 11932       ; 100 Hz
    UNMASK 0
    sti
.idle:
    hlt
    cmp dword [rel ticks], TICKS
    jb .idle
    cli
    lea rsi, [rel done]
    call print
    mov al, 0x10
    out DEBUG_EXIT_PORT, al
    hlt

; set_gate: a 64-bit interrupt gate at RDI for the handler at RAX, code selector 0x18.
set_gate:
    mov [rdi], ax
    mov word [rdi + 2], 0x18
    mov word [rdi + 4], 0x8E00  ; present, ring 0, 64-bit interrupt gate, IST 0
    shr rax, 16
    mov [rdi + 6], ax
    shr rax, 16
    mov [rdi + 8], eax
    mov dword [rdi + 12], 0
    ret

tick:
    push rax
    inc dword [rel ticks]
    EOI
    pop rax
    iretq

ignore:
    iretq

SERIAL_PRINT_FLAT 64

idtr:  dw 256 * 16 - 1
       dq IDT
ticks: dd 0
done:  db "50 timer interrupts in long mode", 10, 0
