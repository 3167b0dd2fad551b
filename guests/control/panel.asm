; panel.asm -- a guest to drive from outside while it runs (the control socket, the monitor):
; row 1 shows the BIOS timer tick count (BDA 0040:006C, 18.2 Hz), row 2 the keyboard shift
; flags (int 16h AH=02h: 01 right Shift, 02 left Shift, 04 Ctrl, 08 Alt), row 3 the keys typed
; (int 16h). Between updates it waits in `hlt` for the next interrupt; it never ends by itself.

[BITS 16]
[ORG 0x7C00]

ROW      equ 160                ; bytes per text row
KEYS_COL equ 2 * 6              ; where typed keys start on row 3, after "keys: "

start:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    mov ax, 0xB800
    mov es, ax
    cld
    xor di, di
    mov si, title
    call puts
    mov di, 3 * ROW
    mov si, keys_label
    call puts
    sti
main:
    mov di, 1 * ROW
    mov si, ticks_label
    call puts
    mov ax, [0x46E]             ; ticks, high word
    call hex16
    mov ax, [0x46C]             ; ticks, low word
    call hex16
    mov di, 2 * ROW
    mov si, shift_label
    call puts
    mov ah, 0x02                ; shift flags
    int 0x16
    call hex8
    mov ah, 0x01                ; a key?
    int 0x16
    jz .wait
    xor ah, ah
    int 0x16
    mov di, [cursor]
    mov ah, 0x07
    stosw
    mov [cursor], di
    jmp main
.wait:
    hlt
    jmp main

; puts: the NUL-terminated string at DS:SI to ES:DI, grey on black.
puts:
    mov ah, 0x07
.next:
    lodsb
    test al, al
    jz .done
    stosw
    jmp .next
.done:
    ret

; hex16: AX as four hex digits at ES:DI.
hex16:
    push ax
    mov al, ah
    call hex8
    pop ax
; hex8: AL as two hex digits at ES:DI.
hex8:
    push ax
    shr al, 4
    call hex4
    pop ax
hex4:
    and al, 0x0F
    add al, '0'
    cmp al, '9'
    jbe .put
    add al, 'A' - '9' - 1
.put:
    mov ah, 0x07
    stosw
    ret

title       db "picovmm control panel", 0
ticks_label db "ticks: ", 0
shift_label db "shift: ", 0
keys_label  db "keys: ", 0
cursor      dw 3 * ROW + KEYS_COL

times 510 - ($ - $$) db 0
dw 0xAA55
