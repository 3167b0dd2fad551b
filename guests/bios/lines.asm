; lines.asm -- text with more rows: loads the 8x8 font with int 10h AX=1112h (50 rows in the
; VGA's 400 lines), asks AX=1130h how many rows there are now, writes a line at the top and one
; on the last row, reports "rows 50, points 08" on the debug console and halts.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    mov ax, 0x1112              ; the 8x8 font: 50 rows
    xor bl, bl
    int 0x10
    mov ax, 0x1130              ; rows - 1 in DL, points in CX
    xor bh, bh
    int 0x10
    inc dl
    mov [rows], dl
    mov [points], cl
    mov si, top
    xor dx, dx                  ; row 0
    call say
    mov dh, [rows]
    dec dh                      ; the last row
    mov si, bottom
    call say
    mov si, rows_label
    call puts
    mov al, [rows]
    call decimal
    mov si, points_label
    call puts
    mov al, [points]
    call decimal
    mov al, 10
    out DEBUGCON_PORT, al
    cli
    hlt

; say: DS:SI at row DH, column 0, through the teletype.
say:
    mov ah, 0x02
    xor bh, bh
    xor dl, dl
    int 0x10
.next:
    lodsb
    test al, al
    jz .done
    mov ah, 0x0E
    int 0x10
    jmp .next
.done:
    ret

; decimal: AL (0-99) as two digits.
decimal:
    aam
    add ax, 0x3030
    xchg al, ah
    out DEBUGCON_PORT, al
    mov al, ah
    out DEBUGCON_PORT, al
    ret

puts:
    lodsb
    test al, al
    jz .done
    out DEBUGCON_PORT, al
    jmp puts
.done:
    ret

rows         db 0
points       db 0
top          db "the first of 50 rows", 0
bottom       db "the last of 50 rows", 0
rows_label   db "rows ", 0
points_label db ", points ", 0

BOOT_SIGNATURE
