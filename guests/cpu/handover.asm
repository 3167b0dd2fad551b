; handover.asm -- a boot sector that makes the CPU backends hand the machine to each other
; under `--accel auto` on a host whose KVM emulates real mode: real mode, then protected mode
; with an SSE move (`movaps`, which the interpreter leaves to KVM), its own IDT and an
; `int 30h` (which such a KVM cannot emulate: the interpreter takes the machine back). On any PC, and on a
; host whose KVM runs everything natively, it prints the same lines and exits with 0x35.
%include "picovmm.inc"

IDT equ 0x1000

[BITS 16]
[ORG 0x7C00]

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    PRINT msg_real
    lgdt [gdt_descriptor]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp 0x08:protected

DEBUGCON_PRINT_ROUTINE

[BITS 32]
protected:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x7C00
    mov eax, cr4
    or eax, 1 << 9              ; CR4.OSFXSR: SSE instructions allowed
    mov cr4, eax
    movaps xmm0, [vector]
    movaps [vector_copy], xmm0
    cmp dword [vector_copy + 12], 0x600DF00D
    jne .wrong
    mov esi, msg_sse
    call print32
    mov edi, IDT + 0x30 * 8     ; one gate: 30h, a 32-bit interrupt gate, DPL 0
    mov eax, int30
    mov [edi], ax
    mov word [edi + 2], 0x08
    mov word [edi + 4], 0x8E00
    shr eax, 16
    mov [edi + 6], ax
    lidt [idt_descriptor]
    xor eax, eax
    int 0x30
    cmp eax, 0x600DF00D
    jne .wrong
    mov esi, msg_int
    call print32
    mov al, 0x35
    out DEBUG_EXIT_PORT, al
.wrong:
    mov al, 0x01
    out DEBUG_EXIT_PORT, al
    hlt

int30:
    mov eax, 0x600DF00D
    iretd

print32:
    lodsb
    test al, al
    jz .done
    out DEBUGCON_PORT, al
    jmp print32
.done:
    ret

align 16
vector:      dd 1, 2, 3, 0x600DF00D
vector_copy: dd 0, 0, 0, 0

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF       ; 0x08 code, flat, 32-bit
    dq 0x00CF92000000FFFF       ; 0x10 data
gdt_descriptor:
    dw 3 * 8 - 1
    dd gdt
idt_descriptor:
    dw 256 * 8 - 1
    dd IDT

msg_real:  db "real mode", 10, 0
msg_sse:   db "movaps ran", 10, 0
msg_int:   db "int 30h in protected mode", 10, 0

BOOT_SIGNATURE
