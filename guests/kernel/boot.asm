; boot.asm -- the boot sector of tinyos (guests/kernel): loads the kernel from the floppy's
; next 64 sectors to 0x10000 with int 13h, switches the A20 gate on, enters 32-bit protected
; mode with a flat GDT and jumps to the kernel's first byte. Built with the kernel by
; guests/kernel/build.sh.
%include "picovmm.inc"

KERNEL_SEGMENT equ 0x1000       ; the kernel at 0x10000
KERNEL_SECTORS equ 64           ; 32 KiB
SECTORS_PER_TRACK equ 18        ; a 1.44 MB floppy
HEADS equ 2

[BITS 16]
[ORG 0x7C00]

start:
    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7C00
    mov [drive], dl
    mov ax, KERNEL_SEGMENT
    mov es, ax
    xor bx, bx
    mov si, 1                   ; the first sector after this one
.next:
    call read_sector
    add bx, 512
    inc si
    cmp si, KERNEL_SECTORS
    jbe .next
    in al, 0x92                 ; A20 on (the fast gate)
    or al, 2
    and al, 0xFE
    out 0x92, al
    lgdt [gdt_descriptor]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp 0x08:protected

; Reads sector SI (LBA) to ES:BX.
read_sector:
    mov ax, si
    xor dx, dx
    mov cx, SECTORS_PER_TRACK
    div cx                      ; AX = track, DX = sector - 1
    mov cl, dl
    inc cl
    xor dx, dx
    mov di, HEADS
    div di                      ; AX = cylinder, DX = head
    mov ch, al
    mov dh, dl
    mov dl, [drive]
    mov ax, 0x0201              ; read one sector
    int 0x13
    jc .failed
    ret
.failed:
    mov si, msg_disk
.print:
    lodsb
    test al, al
    jz .stop
    out DEBUGCON_PORT, al
    jmp .print
.stop:
    EXIT 0x01

[BITS 32]
protected:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, 0x90000
    jmp 0x10000

drive: db 0
msg_disk: db "boot: disk read failed", 10, 0

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF       ; 0x08 code, flat, 32-bit
    dq 0x00CF92000000FFFF       ; 0x10 data
gdt_descriptor:
    dw 3 * 8 - 1
    dd gdt

BOOT_SIGNATURE
