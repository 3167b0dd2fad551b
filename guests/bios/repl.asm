; repl.asm -- a line-editing REPL on the BIOS: reads keys with int 16h (stdin becomes keys when
; no display owns the keyboard), echoes them with int 10h teletype, handles Backspace, and on
; Enter answers the line in capitals with its length: "HELLO (5)". "quit" turns the machine
; off through APM (int 15h AX=5307h), which ends the run as halted.
%include "bios.inc"

[BITS 16]
[ORG 0x7C00]

LINE     equ 0x0600             ; the line buffer (up to 1000 characters)
MAX_LINE equ 1000

start:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
.prompt:
    TTY prompt
    xor di, di                  ; characters in the line
.key:
    xor ah, ah
    int 0x16                    ; AL = ASCII, AH = scan code
    test al, al                 ; arrows, F-keys...: no character
    jz .key
    cmp al, 0xE0                ; the grey keys of a 101-key keyboard
    je .key
    cmp al, 13
    je .enter
    cmp al, 8
    je .backspace
    cmp di, MAX_LINE
    jae .key
    mov [LINE + di], al
    inc di
    mov ah, 0x0E
    xor bx, bx
    int 0x10
    jmp .key
.backspace:
    test di, di
    jz .key
    dec di
    TTY rubout
    jmp .key
.enter:
    TTY crlf
    cmp di, 4
    jne .answer
    cmp dword [LINE], "quit"
    je .quit
.answer:
    xor si, si
.upper:
    cmp si, di
    jae .length
    mov al, [LINE + si]
    cmp al, 'a'
    jb .put
    cmp al, 'z'
    ja .put
    sub al, 0x20
.put:
    mov ah, 0x0E
    xor bx, bx
    int 0x10
    inc si
    jmp .upper
.length:
    TTY open
    mov ax, di
    call tty_number
    TTY close
    jmp .prompt
.quit:
    TTY bye
    mov ax, 0x5301              ; APM: connect the real-mode interface
    xor bx, bx
    int 0x15
    mov ax, 0x5307              ; set power state: all devices off
    mov bx, 0x0001
    mov cx, 0x0003
    int 0x15
    cli
    hlt

TTY_PRINT_ROUTINE

prompt: db "> ", 0
rubout: db 8, " ", 8, 0
crlf:   db 13, 10, 0
open:   db " (", 0
close:  db ")", 13, 10, 0
bye:    db "bye", 13, 10, 0

times 510 - ($ - $$) db 0
dw 0xAA55
