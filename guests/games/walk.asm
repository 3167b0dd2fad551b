; walk.asm -- a boot-sector game to drive from a script: a title screen ("press Enter"), then
; '@' walks the screen with the arrow keys (or WASD) picking up the five '*'; the top row keeps
; the score and the moves. All five picked up: "YOU WIN", and the machine halts. Esc halts too.

[BITS 16]
[ORG 0x7C00]

COLS    equ 80
PLAYER  equ '@'
STAR    equ '*'
ATTR    equ 0x07

start:
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    mov ax, 0xB800
    mov es, ax
    cld
    call clear
    mov di, (10 * COLS + 27) * 2
    mov si, title
    call puts
    mov di, (12 * COLS + 30) * 2
    mov si, press
    call puts
.title:
    xor ah, ah                  ; wait for Enter
    int 0x16
    cmp al, 13
    jne .title
    call clear
    mov si, stars               ; the stars, as cell offsets
    mov cx, 5
.star:
    lodsw
    mov di, ax
    mov ax, (ATTR << 8) | STAR
    stosw
    loop .star
    call draw
play:
    call status
    xor ah, ah
    int 0x16
    mov bx, [pos]
    cmp al, 27                  ; Esc: the end
    je over
    or al, 0x20                 ; WASD in either case
    cmp ah, 0x48
    je .up
    cmp al, 'w'
    je .up
    cmp ah, 0x50
    je .down
    cmp al, 's'
    je .down
    cmp ah, 0x4B
    je .left
    cmp al, 'a'
    je .left
    cmp ah, 0x4D
    je .right
    cmp al, 'd'
    je .right
    jmp play
.up:
    sub bx, COLS * 2
    cmp bx, COLS * 2            ; row 0 is the status line
    jb play
    jmp .move
.down:
    add bx, COLS * 2
    cmp bx, 25 * COLS * 2
    jae play
    jmp .move
.left:
    sub bx, 2
    jmp .move
.right:
    add bx, 2
.move:
    mov di, [pos]
    mov ax, (ATTR << 8) | ' '
    stosw
    mov [pos], bx
    inc word [moves]
    cmp byte [es:bx], STAR
    jne .drawn
    inc byte [score]
.drawn:
    call draw
    cmp byte [score], 5
    jb play
    call status
    mov di, 40 * 2
    mov si, win
    call puts
over:
    cli
    hlt

; draw: the player at [pos].
draw:
    mov di, [pos]
    mov ax, (ATTR << 8) | PLAYER
    stosw
    ret

; status: "score N  moves NNNN" on row 0.
status:
    xor di, di
    mov si, score_label
    call puts
    mov al, [score]
    add al, '0'
    mov ah, ATTR
    stosw
    mov si, moves_label
    call puts
    mov ax, [moves]
    mov bx, 1000
.digit:
    xor dx, dx
    div bx
    add al, '0'
    mov ah, ATTR
    stosw
    mov ax, dx
    push ax
    mov ax, bx
    mov bx, 10
    xor dx, dx
    div bx
    mov bx, ax
    pop ax
    test bx, bx
    jnz .digit
    ret

; clear: the whole screen blank.
clear:
    xor di, di
    mov ax, (ATTR << 8) | ' '
    mov cx, 25 * COLS
    rep stosw
    ret

; puts: the NUL-terminated string at DS:SI to ES:DI.
puts:
    mov ah, ATTR
.next:
    lodsb
    test al, al
    jz .done
    stosw
    jmp .next
.done:
    ret

pos         dw (12 * COLS + 40) * 2
moves       dw 0
score       db 0
stars       dw (12 * COLS + 43) * 2, (5 * COLS + 10) * 2, (20 * COLS + 70) * 2
            dw (3 * COLS + 60) * 2, (22 * COLS + 5) * 2
title       db "WALK -- a boot-sector game", 0
press       db "press Enter to start", 0
score_label db "score ", 0
moves_label db "  moves ", 0
win         db "YOU WIN", 0

times 510 - ($ - $$) db 0
dw 0xAA55
