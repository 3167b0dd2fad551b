; hello.asm -- picovmm's sample boot sector.
;
; Clears the 80x25 text screen to white on blue, draws a "Hello World" banner in the
; middle through VGA memory at 0xB8000, and halts. Loaded at 0x7C00 and entered at
; 0000:7C00, as a PC BIOS would.
;
; nasm -f bin -I guests/include/ -o guests/hello/hello.bin guests/hello/hello.asm

%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

SCREEN_ATTR equ 0x1F            ; bright white on blue
BANNER_ATTR equ 0x1E            ; yellow on blue
BANNER_ROW  equ 10
BANNER_COL  equ 24              ; (80 - 32) / 2: the banner is 32 cells wide

start:
    cli
    cld
    xor ax, ax
    mov ds, ax
    mov ax, VGA_SEGMENT
    mov es, ax

    ; Every cell a blank in SCREEN_ATTR.
    xor di, di
    mov ax, (SCREEN_ATTR << 8) | ' '
    mov cx, COLUMNS * ROWS
    rep stosw

    ; The banner, one NUL-terminated row at a time; an empty row ends it.
    mov si, banner
    mov di, (BANNER_ROW * COLUMNS + BANNER_COL) * 2
    mov ah, BANNER_ATTR
.row:
    push di
.cell:
    lodsb
    test al, al
    jz .row_done
    stosw
    jmp .cell
.row_done:
    pop di
    add di, COLUMNS * 2
    cmp byte [si], 0
    jne .row

%ifdef EXIT_WHEN_DONE
    EXIT 0                      ; for machines where hlt never ends the run (QEMU)
%else
.halt:
    hlt
    jmp .halt
%endif

; CP437 box drawing: 0xC9 0xCD 0xBB / 0xBA / 0xC8 0xCD 0xBC
banner:
    db 0xC9
    times 30 db 0xCD
    db 0xBB, 0
    db 0xBA, "   Hello World from picovmm   ", 0xBA, 0
    db 0xC8
    times 30 db 0xCD
    db 0xBC, 0
    db 0

BOOT_SIGNATURE
