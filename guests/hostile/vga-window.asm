; vga-window.asm -- fills the whole 32 KiB VGA window (0xB8000-0xBFFFF) with 'A' cells,
; writes 32 bytes past its end (0xC0000-0xC001F: the option-ROM space, empty ROM on the
; default machine), reads back the window's last cell and the first byte past it, writes a
; title on row 0, reports on the debug console, and exits through isa-debug-exit: 0x10 if
; both reads gave what they should (the cell as written; 0x00, the empty ROM, which the
; writes did not change), 0x11 otherwise.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

WINDOW_WORDS equ 0x4000         ; 32 KiB
FILL_CELL    equ 0x0741         ; 'A', light grey on black
PAST_BYTES   equ 32

start:
    cld
    xor ax, ax
    mov ds, ax

    mov ax, VGA_SEGMENT
    mov es, ax
    xor di, di
    mov ax, FILL_CELL
    mov cx, WINDOW_WORDS
    rep stosw

    mov ax, 0xC000
    mov es, ax
    xor di, di
    mov al, 0x55
    mov cx, PAST_BYTES
    rep stosb

    mov bl, 0x10                ; verdict: 0x10 ok, 0x11 failed
    mov ax, VGA_SEGMENT
    mov es, ax
    cmp word [es:WINDOW_WORDS * 2 - 2], FILL_CELL
    je .window_ok
    mov bl, 0x11
    PRINT window_bad
    jmp .past
.window_ok:
    PRINT window_good
.past:
    mov ax, 0xC000
    mov es, ax
    cmp byte [es:0], 0x00
    je .past_ok
    mov bl, 0x11
    PRINT past_bad
    jmp .title
.past_ok:
    PRINT past_good

.title:
    mov ax, VGA_SEGMENT
    mov es, ax
    xor di, di
    mov si, title
    mov ah, 0x0F
.cell:
    lodsb
    test al, al
    jz .done
    stosw
    jmp .cell
.done:
    mov al, bl
    out DEBUG_EXIT_PORT, al
    hlt

DEBUGCON_PRINT_ROUTINE

title:       db "VGA window test", 0
window_good: db "last cell of the window reads back", 10, 0
window_bad:  db "last cell of the window is wrong", 10, 0
past_good:   db "past the window reads 0x00", 10, 0
past_bad:    db "past the window does not read 0x00", 10, 0

BOOT_SIGNATURE
