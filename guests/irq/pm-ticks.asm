; pm-ticks.asm -- a 32-bit protected-mode kernel's first timer: entered by picovmm in protected
; mode (flat GDT, code selector 0x08), it builds an IDT with an interrupt gate for vector 0x20,
; remaps the PIC to 0x20/0x28 as kernels do, runs the PIT at 100 Hz and idles in `sti; hlt`
; until 50 ticks have come, then exits with 0x10 (status 33) and prints the count on COM1.
%include "picovmm.inc"
%include "pc.inc"

[BITS 32]
[ORG 0x7C00]

IDT     equ 0x1000              ; 256 gates of 8 bytes
TICKS   equ 50

start:
    cli
    mov esp, 0x7C00
    ; Every gate points at `ignore`, the timer's at `tick`.
    mov edi, IDT
    mov ecx, 256
.gate:
    mov eax, ignore
    call set_gate
    add edi, 8
    loop .gate
    mov edi, IDT + 0x20 * 8
    mov eax, tick
    call set_gate
    lidt [idtr]
    PIC_INIT 0x20, 0x28
    PIT_CHANNEL0 2, 11932       ; 100 Hz
    UNMASK 0
    sti
.idle:
    hlt
    cmp dword [ticks], TICKS
    jb .idle
    cli
    mov esi, done
    call print
    mov al, 0x10
    out DEBUG_EXIT_PORT, al
    hlt

; set_gate: a 32-bit interrupt gate at EDI for the handler at EAX, code selector 0x08.
set_gate:
    mov [edi], ax
    mov word [edi + 2], 0x08
    mov word [edi + 4], 0x8E00  ; present, ring 0, 32-bit interrupt gate
    shr eax, 16
    mov [edi + 6], ax
    ret

tick:
    push eax
    inc dword [ticks]
    EOI
    pop eax
    iretd

ignore:
    iretd

SERIAL_PRINT_FLAT 32

idtr:  dw 256 * 8 - 1
       dd IDT
ticks: dd 0
done:  db "50 timer interrupts in protected mode", 10, 0
