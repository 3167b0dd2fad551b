; dma.asm -- drives the dma example plugin (plugins/examples/dma-c) at MMIO 0xD0000: reads its
; ID, has it checksum a message in guest RAM, fill a buffer, and try an address outside RAM,
; printing each result on the debug console; then halts.
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

DMA_SEGMENT  equ 0xD000
REG_ADDR     equ 0x00
REG_LEN      equ 0x04
REG_FILL     equ 0x08
REG_CMD      equ 0x0C
REG_RESULT   equ 0x10
REG_STATUS   equ 0x14
REG_ID       equ 0x18
CMD_CHECKSUM equ 1
CMD_FILL     equ 2
STATUS_OUTSIDE_RAM equ 1
BUFFER       equ 0x8000
FILL_BYTES   equ 16

start:
    cld
    xor ax, ax
    mov ds, ax
    mov ax, DMA_SEGMENT
    mov es, ax

    PRINT id_label
    mov eax, [es:REG_ID]
    mov cx, 4
.id_char:
    out DEBUGCON_PORT, al
    shr eax, 8
    loop .id_char
    PRINT newline

    mov dword [es:REG_ADDR], message
    mov dword [es:REG_LEN], message_end - message
    mov dword [es:REG_CMD], CMD_CHECKSUM
    PRINT sum_label
    mov eax, [es:REG_RESULT]
    call print_hex16
    PRINT newline

    mov dword [es:REG_ADDR], BUFFER
    mov dword [es:REG_LEN], FILL_BYTES
    mov dword [es:REG_FILL], '*'
    mov dword [es:REG_CMD], CMD_FILL
    mov si, BUFFER
    mov cx, FILL_BYTES
.filled:
    lodsb
    out DEBUGCON_PORT, al
    loop .filled
    PRINT newline

    mov dword [es:REG_ADDR], 0xF0000000
    mov dword [es:REG_LEN], 4
    mov dword [es:REG_CMD], CMD_CHECKSUM
    mov eax, [es:REG_STATUS]
    cmp eax, STATUS_OUTSIDE_RAM
    jne .accepted
    PRINT refused
    jmp .halt
.accepted:
    PRINT accepted
.halt:
    hlt
    jmp .halt

; print_hex16: AX as four lower-case hex digits. Clobbers AX, BX, CX.
print_hex16:
    mov cx, 4
.digit:
    rol ax, 4
    mov bx, ax
    and bl, 0x0F
    add bl, '0'
    cmp bl, '9'
    jbe .emit
    add bl, 'a' - '0' - 10
.emit:
    xchg ax, bx
    out DEBUGCON_PORT, al
    xchg ax, bx
    loop .digit
    ret

DEBUGCON_PRINT_ROUTINE

id_label: db "id ", 0
sum_label: db "checksum ", 0
newline:  db 10, 0
refused:  db "outside RAM: refused", 10, 0
accepted: db "outside RAM: accepted", 10, 0
message:  db "hello from a C plugin"
message_end:

BOOT_SIGNATURE
