; rom-write.asm -- tries to change the BIOS ROM at F000:0000 three ways: a plain `not`, a
; `rep stosb`, and an int 13h read of a disk sector into it. A PC (and QEMU) write-protects the
; ROM: every write goes nowhere and the int 13h read still succeeds. The guest compares the
; ROM's first 512 bytes with the copy it took first and says what it found (exit 0 when the
; ROM is unchanged, 0x11 when it changed, 0x12 when the disk read failed).
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

COPY equ 0x8000                 ; 512 bytes of the ROM, taken before the writes

start:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    mov [drive], dl
    push ds
    mov ax, 0xF000
    mov ds, ax
    xor si, si
    xor ax, ax
    mov es, ax
    mov di, COPY
    mov cx, 256
    rep movsw                   ; COPY = F000:0000..01FF
    pop ds
    mov ax, 0xF000
    mov es, ax
    not word [es:0]             ; a plain write
    mov di, 16
    mov al, 0x5A
    mov cx, 32
    rep stosb                   ; a string write
    mov ax, 0x0201              ; int 13h: read 1 sector (this one) into ES:BX = F000:0000
    mov cx, 0x0001
    xor dh, dh
    mov dl, [drive]
    xor bx, bx
    int 0x13
    jc .disk_failed
    mov ax, 0xF000
    mov ds, ax
    xor si, si
    xor ax, ax
    mov es, ax
    mov di, COPY
    mov cx, 512
    repe cmpsb
    mov ds, ax
    jne .changed
    PRINT unchanged
    EXIT 0
.changed:
    PRINT changed
    EXIT 0x11
.disk_failed:
    PRINT failed
    EXIT 0x12

drive:     db 0
unchanged: db "the ROM is unchanged", 10, 0
changed:   db "the guest changed the ROM", 10, 0
failed:    db "the disk read into the ROM failed", 10, 0

DEBUGCON_PRINT_ROUTINE
BOOT_SIGNATURE
