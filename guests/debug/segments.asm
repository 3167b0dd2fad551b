; segments.asm -- a boot sector for the debugger tests that runs with CS != 0: it far-jumps to
; 07C0:start, sets BL to 5, writes a white-on-blue "G" to the top-left VGA cell, and exits
; through isa-debug-exit with BL (status (BL << 1) | 1: 11 as it stands). A debugger that
; changes BL at `set_bl` changes the exit status.
%include "picovmm.inc"

[BITS 16]
[ORG 0]

    jmp 0x07C0:start            ; from 0000:7C00 to 07C0:0005, the same linear address
start:
    mov ax, cs
    mov ds, ax
set_bl:
    mov bl, 5
    mov ax, VGA_SEGMENT
    mov es, ax
    mov byte [es:0], 'G'        ; the watched cell, 0xB8000
    mov byte [es:1], 0x1F
    mov al, bl
    out DEBUG_EXIT_PORT, al
    hlt

BOOT_SIGNATURE
