; string-io.asm -- wide and string port I/O on the legacy devices, as KVM delivers it: an
; `out dx, ax` to the 1-port debug console prints its low byte (QEMU splits the access), `rep
; outsb` and `rep outsw` print each access (a word's low byte), and `rep insb` reads three
; received bytes from COM1 in one instruction. Prints "OK", "AC" and the three bytes, then
; exits through isa-debug-exit with 0x55.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

start:
    xor ax, ax
    mov ds, ax
    mov es, ax
    cld
    mov dx, DEBUGCON_PORT
    mov ax, 'O' | ('x' << 8)
    out dx, ax                  ; a word to a 1-port device: 'O'
    mov si, k_newline
    mov cx, 2
    rep outsb                   ; "K\n"
    mov si, words
    mov cx, 2
    rep outsw                   ; 'A', 'C' (each word's low byte)
    mov al, 10
    out dx, al
    mov dx, COM1_LSR
.wait:
    in al, dx
    test al, LSR_DATA_READY
    jz .wait
    mov cx, 0xFFFF              ; let the rest of the line arrive
.settle:
    loop .settle
    mov dx, COM1_PORT
    mov di, received
    mov cx, 3
    rep insb                    ; three bytes in one instruction
    mov dx, DEBUGCON_PORT
    mov si, received
    mov cx, 4
    rep outsb                   ; the three bytes and a newline
    EXIT 0x55

k_newline: db "K", 10
words:     dw 'A' | ('B' << 8), 'C' | ('D' << 8)
received:  db 0, 0, 0, 10
