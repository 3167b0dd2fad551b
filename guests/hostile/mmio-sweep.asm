; mmio-sweep.asm -- writes and then reads one byte every 64 bytes of the legacy hole that the
; default machine leaves unmapped: 0xB0000-0xB7FFF (between the BIOS's graphics window and the
; VGA text window) and 0xC0000-0xEFFFF (below the BIOS ROM)
; (where a PC has its ROMs). Every read must give 0xFF. Exits with 0x10 (all 0xFF) or 0x11.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

STEP equ 64

start:
    cld
    xor ax, ax
    mov ds, ax
    xor bx, bx                  ; reads that were not 0xFF
    mov si, ranges
.range:
    lodsw                       ; first segment (0 ends the list)
    test ax, ax
    jz .done
    mov cx, ax
    lodsw                       ; how many 4 KiB blocks
    mov dx, ax
.segment:
    mov es, cx
    xor di, di
.byte:
    mov byte [es:di], 0x5A
    cmp byte [es:di], 0xFF
    je .next
    inc bx
.next:
    add di, STEP
    cmp di, 0x1000              ; a segment step of 0x100 covers 4 KiB
    jb .byte
    add cx, 0x100
    dec dx
    jnz .segment
    jmp .range
.done:
    test bx, bx
    jnz .bad
    PRINT good
    EXIT 0x10
.bad:
    PRINT bad
    EXIT 0x11

DEBUGCON_PRINT_ROUTINE

ranges: dw 0xB000, 0x08, 0xC000, 0x30, 0   ; (first segment, 4 KiB blocks)
good: db "unmapped MMIO swept; reads gave 0xff", 10, 0
bad:  db "an unmapped MMIO read did not give 0xff", 10, 0

BOOT_SIGNATURE
