; cpuid.asm -- what a guest's feature check sees: prints the vendor string, the highest basic
; leaf, the hypervisor bit and the hypervisor's signature (leaf 0x40000000), then exits
; through isa-debug-exit with 0x11 when the hypervisor bit is set and 0x10 when it is not.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    mov es, ax
    xor eax, eax
    cpuid                       ; EAX = highest leaf, EBX EDX ECX = vendor
    mov [vendor], ebx
    mov [vendor + 4], edx
    mov [vendor + 8], ecx
    mov [max_leaf], eax
    PRINT vendor_label
    PRINT vendor
    PRINT max_label
    mov eax, [max_leaf]
    call print_hex32
    mov eax, 1
    cpuid
    test ecx, 1 << 31           ; hypervisor present
    jz .bare
    PRINT hypervisor_label
    mov eax, 0x40000000
    cpuid
    mov [signature], ebx
    mov [signature + 4], ecx
    mov [signature + 8], edx
    PRINT signature
    PRINT newline
    EXIT 0x11
.bare:
    PRINT bare_label
    EXIT 0x10

; print_hex32: EAX as 8 hex digits and a newline on the debug console. Clobbers EAX, CX, EDX.
print_hex32:
    mov edx, eax
    mov cx, 8
.digit:
    rol edx, 4
    mov al, dl
    and al, 0x0F
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'a' - '0' - 10
.out:
    out DEBUGCON_PORT, al
    loop .digit
    mov al, 10
    out DEBUGCON_PORT, al
    ret

DEBUGCON_PRINT_ROUTINE

vendor_label:     db "vendor: ", 0
max_label:        db 10, "max leaf: ", 0
hypervisor_label: db "hypervisor: ", 0
bare_label:       db "no hypervisor bit", 10, 0
newline:          db 10, 0
max_leaf:         dd 0
vendor:           times 13 db 0
signature:        times 13 db 0
