; x87-protected.asm -- floating point in 32-bit protected mode: 1.5 * 4 + 0.25 rounded to an
; integer (6), and CR0.TS making the first x87 instruction a #NM whose handler clears it (as a
; kernel that switches the FPU's state lazily does). Prints on the debug console and exits
; through isa-debug-exit with 0x47 (status 143). This project's hosts' KVM cannot emulate
; the x87 in ring 0; picovmm's interpreter has one.
%include "picovmm.inc"

IDT equ 0x1000

[BITS 16]
[ORG 0x7C00]

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    lgdt [gdt_descriptor]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp 0x08:protected

[BITS 32]
protected:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x7C00
    mov edi, IDT + 7 * 8        ; #NM: device not available
    mov eax, no_fpu_state
    mov [edi], ax
    mov word [edi + 2], 0x08
    mov word [edi + 4], 0x8E00
    shr eax, 16
    mov [edi + 6], ax
    lidt [idt_descriptor]
    mov eax, cr0
    and eax, ~(1 << 2)          ; EM clear: an x87 is there
    or eax, (1 << 3) | (1 << 1) ; TS, MP: the first x87 instruction traps
    mov cr0, eax
    fninit                      ; #NM, then again after CLTS
    fld dword [one_and_half]
    fmul dword [four]
    fadd dword [quarter]
    fistp dword [result]
    cmp dword [result], 6
    jne .wrong
    cmp byte [traps], 1
    jne .wrong
    mov esi, msg_ok
    call print
    mov al, 0x47
    out DEBUG_EXIT_PORT, al
.wrong:
    mov esi, msg_wrong
    call print
    mov al, 0x01
    out DEBUG_EXIT_PORT, al
    hlt

no_fpu_state:
    inc byte [traps]
    clts
    iretd

print:
    lodsb
    test al, al
    jz .done
    out DEBUGCON_PORT, al
    jmp print
.done:
    ret

one_and_half: dd 1.5
four:         dd 4.0
quarter:      dd 0.25
result:       dd 0
traps:        db 0

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF
    dq 0x00CF92000000FFFF
gdt_descriptor:
    dw 3 * 8 - 1
    dd gdt
idt_descriptor:
    dw 256 * 8 - 1
    dd IDT

msg_ok:    db "x87 in protected mode: 1.5*4+0.25 = 6, one #NM", 10, 0
msg_wrong: db "x87 went wrong", 10, 0

BOOT_SIGNATURE
