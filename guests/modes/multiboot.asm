; multiboot.asm -- a multiboot (v1) kernel with the header's address fields (no ELF needed),
; loaded at 1 MiB. It checks EAX = 0x2BADB002, then prints from the information structure at
; EBX its lower memory size and command line on the serial port (COM1), and exits with 0x2B.
%include "picovmm.inc"

[BITS 32]
BASE equ 0x100000
[ORG BASE]

MB_MAGIC     equ 0x1BADB002
MB_FLAGS     equ (1 << 1) | (1 << 16)       ; memory information, address fields
MB_BOOTED    equ 0x2BADB002
INFO_MEM_LOWER equ 4
INFO_CMDLINE   equ 16

multiboot_header:
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)
    dd multiboot_header                     ; header_addr
    dd BASE                                 ; load_addr
    dd 0                                    ; load_end_addr: the whole file
    dd bss_end                              ; bss_end_addr
    dd start                                ; entry_addr

start:
    cmp eax, MB_BOOTED
    jne .wrong
    mov esi, lower
    call print
    mov eax, [ebx + INFO_MEM_LOWER]         ; KiB, 640 on picovmm's PC layout
    call print_decimal
    mov esi, cmdline
    call print
    mov esi, [ebx + INFO_CMDLINE]
    call print
    mov al, 10
    call putc
    mov al, 0x2B
    out DEBUG_EXIT_PORT, al
.wrong:
    mov al, 0x01
    out DEBUG_EXIT_PORT, al
    hlt

SERIAL_PRINT_FLAT 32

; print_decimal: EAX as decimal on COM1.
print_decimal:
    mov ecx, 10
    xor edi, edi
.divide:
    xor edx, edx
    div ecx
    push edx
    inc edi
    test eax, eax
    jnz .divide
.emit:
    pop eax
    add al, '0'
    call putc
    dec edi
    jnz .emit
    ret

lower:   db "multiboot: mem_lower ", 0
cmdline: db " KiB, cmdline ", 0
file_end:
bss_end equ file_end + 0x100
