; mouse.asm -- finds the PS/2 mouse through the BIOS (int 15h AX=C205h initialise, C207h set the
; handler, C200h enable) and prints each packet the BIOS hands its handler on the debug console
; and the screen as "packet SS XX YY" (status, X, Y in hex). A right-button press ends the run
; through isa-debug-exit (value 0x10); "no mouse" and the status code when the BIOS refuses.
%include "picovmm.inc"
%include "bios.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    mov ax, 0xC205              ; initialise, three-byte packets
    mov bh, 3
    int 0x15
    jc .refused
    mov ax, 0xC207              ; the handler: ES:BX
    mov bx, handler
    int 0x15
    jc .refused
    mov ax, 0xC200              ; enable
    mov bh, 1
    int 0x15
    jc .refused
    mov si, ready
    call say
    sti
.wait:
    hlt
    jmp .wait
.refused:
    push ax
    mov si, no_mouse
    call say_no_newline
    pop ax
    mov al, ah
    call hex
    mov al, 10
    out DEBUGCON_PORT, al
    cli
    hlt

; The BIOS calls it far, with status, X, Y and 0 pushed as words.
handler:
    push bp
    mov bp, sp
    push ax
    push bx
    push si
    push ds
    xor ax, ax
    mov ds, ax
    mov si, packet
    call say_no_newline
    mov al, [bp + 12]           ; status (BP, return CS:IP, then 0, Y, X, status)
    call hex
    mov al, ' '
    out DEBUGCON_PORT, al
    mov al, [bp + 10]           ; X
    call hex
    mov al, ' '
    out DEBUGCON_PORT, al
    mov al, [bp + 8]            ; Y
    call hex
    mov al, 10
    out DEBUGCON_PORT, al
    test byte [bp + 12], 0x02   ; the right button
    jz .done
    EXIT 0x10
.done:
    pop ds
    pop si
    pop bx
    pop ax
    pop bp
    retf

; say: the NUL-terminated string at DS:SI on the debug console and the teletype, then a newline.
say:
    call say_no_newline
    mov al, 10
    out DEBUGCON_PORT, al
    ret

say_no_newline:
    lodsb
    test al, al
    jz .done
    out DEBUGCON_PORT, al
    mov ah, 0x0E
    xor bx, bx
    int 0x10
    jmp say_no_newline
.done:
    ret

; hex: AL as two hex digits on the debug console.
hex:
    push ax
    shr al, 4
    call .digit
    pop ax
.digit:
    and al, 0x0F
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'A' - '9' - 1
.out:
    out DEBUGCON_PORT, al
    ret

ready    db "mouse ready", 0
no_mouse db "no mouse, status ", 0
packet   db "packet ", 0

times 510 - ($ - $$) db 0
dw 0xAA55
