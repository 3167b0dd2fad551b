; planar.asm -- the EGA/VGA 16-colour planar modes through the BIOS and the graphics
; controller: sets mode 12h (or MODE, as planar10.asm defines it before including this),
; fills a blue band with set/reset (write mode 0), draws 16 colour bars with write mode 2 and
; the bit mask (every other pixel red over them by the latches), copies the bars lower with
; write mode 1 (the latches), puts yellow pixels with int 10h AH=0Ch and reads one back with
; AH=0Dh, looks for colour 4 with read mode 1 (colour compare), writes "planar" with the
; teletype, and reports on the debug console: "pixel 0e compare 55 mode 12", then exits with 0x10
; (a machine restored from a snapshot taken then halts).
%include "picovmm.inc"

%ifndef MODE
%define MODE 0x12
%endif

[BITS 16]
[ORG 0x7C00]

SEQ     equ 0x3C4
GC      equ 0x3CE

start:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    mov al, [mode]
    xor ah, ah
    int 0x10
    mov ax, 0xA000
    mov es, ax
    ; A blue band, rows 0-31: set/reset colour 1 on every plane, bit mask 0xFF.
    mov dx, GC
    mov ax, 0x0100              ; set/reset = 1
    out dx, ax
    mov ax, 0x0F01              ; enable set/reset on all planes
    out dx, ax
    xor di, di
    mov cx, 32 * 80
    rep stosb                   ; the CPU's byte is ignored
    mov ax, 0x0001              ; set/reset off
    out dx, ax
    ; 16 bars, 40 pixels wide, rows 40-99: write mode 2, colour = bar.
    mov ax, 0x0205              ; write mode 2
    out dx, ax
    mov ax, 0xFF08              ; bit mask: all
    out dx, ax
    mov di, 40 * 80
    mov bx, 0
.row:
    xor si, si                  ; bar
.bar:
    mov ax, si
    mov cx, 5                   ; 5 bytes = 40 pixels
.byte:
    mov ah, [es:di]             ; load the latches
    stosb
    loop .byte
    inc si
    cmp si, 16
    jb .bar
    inc bx
    cmp bx, 60
    jb .row
    ; Red on every other pixel of rows 60-69, over the bars: bit mask 0x55, colour 4.
    mov ax, 0x5508
    out dx, ax
    mov di, 60 * 80
    mov cx, 10 * 80
.red:
    mov al, [es:di]
    mov al, 4
    stosb
    loop .red
    mov ax, 0xFF08              ; bit mask: all
    out dx, ax
    ; Rows 40-99 copied to rows 120-179 through the latches: write mode 1.
    mov ax, 0x0105
    out dx, ax
    push ds
    push es
    pop ds
    mov si, 40 * 80
    mov di, 120 * 80
    mov cx, 60 * 80
    rep movsb
    pop ds
    mov ax, 0x0005              ; write mode 0
    out dx, ax
    ; Yellow pixels through the BIOS: a diagonal from (300, 200) to (379, 279).
    mov cx, 300
    mov dx, 200
.diagonal:
    mov ax, 0x0C0E
    xor bh, bh
    int 0x10
    inc cx
    inc dx
    cmp cx, 380
    jb .diagonal
    mov ah, 0x0D
    mov cx, 310
    mov dx, 210
    int 0x10
    mov [pixel], al
    ; Read mode 1: where is colour 4 in the first byte of bar 0's red row? Bits 6, 4, 2, 0
    ; are red; bar 0 is colour 0, so "colour 4" matches only the red ones: 0x55.
    mov dx, GC
    mov ax, 0x0402              ; colour compare = 4
    out dx, ax
    mov ax, 0x0F07              ; compare all planes
    out dx, ax
    mov ax, 0x0805              ; read mode 1
    out dx, ax
    mov al, [es:60 * 80]
    mov [compare], al
    mov ax, 0x0005
    out dx, ax
    ; Text through the teletype, white.
    mov si, text
.text:
    lodsb
    test al, al
    jz .report
    mov ah, 0x0E
    mov bx, 0x000F
    int 0x10
    jmp .text
.report:
    mov si, pixel_label
    call puts
    mov al, [pixel]
    call hex
    mov si, compare_label
    call puts
    mov al, [compare]
    call hex
    mov si, mode_label
    call puts
    mov ah, 0x0F
    int 0x10
    call hex
    mov al, 10
    out DEBUGCON_PORT, al
%ifdef LIVE
.forever:                       ; planar-live.asm: stay, for the live display
    sti
    hlt
    jmp .forever
%else
    EXIT 0x10
    cli                         ; a snapshot taken at the exit goes on here
    hlt
%endif

hex:
    push ax
    shr al, 4
    call .digit
    pop ax
    and al, 0x0F
.digit:
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'a' - '9' - 1
.out:
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

pixel       db 0
compare     db 0
text        db "planar", 0
pixel_label db "pixel ", 0
compare_label db " compare ", 0
mode_label  db " mode ", 0

    times 509 - ($ - $$) db 0
mode        db MODE             ; byte 509: the mode to set
    dw 0xAA55
