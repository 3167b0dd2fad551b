; mmio-sweep.asm -- writes and then reads one byte every 64 bytes of the legacy hole that the
; default machine leaves unmapped: 0xB0000-0xB7FFF (between the BIOS's graphics window and the
; VGA text window, where a monochrome adapter would be). Every read must give 0xFF. Then the
; option-ROM space, 0xC0000-0xEFFFF, empty ROM on this machine: every read must give 0x00 and
; no write may change it. Exits with 0x10 (all as expected) or 0x11.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

STEP equ 64

start:
    cld
    xor ax, ax
    mov ds, ax
    xor bx, bx                  ; reads that were not as expected
    mov si, ranges
.range:
    lodsw                       ; first segment (0 ends the list)
    test ax, ax
    jz .done
    mov cx, ax
    lodsw                       ; how many 4 KiB blocks
    mov dx, ax
    lodsb                       ; what every read must give
    mov ah, al
.segment:
    mov es, cx
    xor di, di
.byte:
    mov byte [es:di], 0x5A
    cmp byte [es:di], ah
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

ranges:                         ; first segment, 4 KiB blocks, the byte every read gives
    dw 0xB000, 0x08
    db 0xFF
    dw 0xC000, 0x30
    db 0x00
    dw 0
good: db "unmapped MMIO swept; reads gave 0xff; the option-ROM space 0x00", 10, 0
bad:  db "an MMIO read gave another byte", 10, 0

BOOT_SIGNATURE
