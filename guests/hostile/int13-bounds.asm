; int13-bounds.asm -- int 13h transfers a PC refuses or drops, checked from outside through the
; disk: an extended read (AH=42h) to the flat buffer 0xFFFFFE00, whose second sector would wrap
; past 4 GiB into the interrupt vector table, must fail (CF set) and write nothing; a read into
; the BIOS ROM at F000:0000 succeeds but the write-protected ROM keeps its bytes. The guest then
; writes to its own disk (CHS 0/0/2..5): the IVT's first sector now, the ROM's first sector now,
; and the copies of both it took before. The test compares those sectors in the image file.
; Exit 0 after the writes; 0x11 when the wrapping read succeeded; 0x12 when a write failed.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

IVT_COPY equ 0x8000
ROM_COPY equ 0x8200

start:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    mov [drive], dl
    xor si, si                  ; IVT_COPY = 0000:0000..01FF
    mov di, IVT_COPY
    mov cx, 256
    rep movsw
    push ds
    mov ax, 0xF000              ; ROM_COPY = F000:0000..01FF
    mov ds, ax
    xor si, si
    mov di, ROM_COPY
    mov cx, 256
    rep movsw
    pop ds
    mov ah, 0x42                ; the wrapping extended read
    mov dl, [drive]
    mov si, packet
    int 0x13
    jnc .wrapped
    mov ax, 0xF000              ; a read into the ROM
    mov es, ax
    mov ax, 0x0201
    mov cx, 0x0001
    xor dh, dh
    mov dl, [drive]
    xor bx, bx
    int 0x13
    xor bx, bx                  ; sector 2: the IVT now
    xor ax, ax
    mov es, ax
    mov cl, 2
    call write_sector
    mov ax, 0xF000              ; sector 3: the ROM now
    mov es, ax
    mov cl, 3
    call write_sector
    xor ax, ax
    mov es, ax
    mov bx, IVT_COPY            ; sectors 4 and 5: the copies from before
    mov cl, 4
    call write_sector
    mov bx, ROM_COPY
    mov cl, 5
    call write_sector
    PRINT written
    EXIT 0
.wrapped:
    PRINT wrapped
    EXIT 0x11

; Writes the sector at ES:BX to CHS 0/0/CL of the boot drive, or ends the run with 0x12.
write_sector:
    mov ax, 0x0301
    xor ch, ch
    xor dh, dh
    mov dl, [drive]
    int 0x13
    jc .failed
    ret
.failed:
    xor ax, ax
    mov ds, ax
    PRINT failed
    EXIT 0x12

packet:
    db 0x18, 0                  ; size (with the 64-bit flat address), reserved
    dw 2                        ; sectors
    dw 0xFFFF, 0xFFFF           ; offset, segment: FFFF:FFFF means "use the flat address"
    dq 1                        ; LBA
    dq 0xFFFFFE00               ; flat buffer: the second sector would wrap to 0
drive:   db 0
written: db "sectors written", 10, 0
wrapped: db "the wrapping read succeeded", 10, 0
failed:  db "a disk write failed", 10, 0

DEBUGCON_PRINT_ROUTINE
BOOT_SIGNATURE
