; vbe.asm -- the VESA BIOS Extensions: asks int 10h AX=4F00h for the controller ("VESA",
; version, mode list), walks the list with AX=4F01h for 800x600 in 32 bits with a linear frame
; buffer, sets it with AX=4F02h (bit 14), draws a red band through the 64 KiB window at
; 0xA0000 (bank 0) and a green one through bank 1 (AX=4F05h), then switches to 32-bit
; protected mode and fills the rest of the screen through the linear frame buffer, a line at a
; time, blue to green from the top down. Reports "vbe 0300 mode 0141 lfb e0000000" on the
; debug console and exits with 0x10 (0x11 when something is missing).
%include "picovmm.inc"

[BITS 16]
[ORG 0x7C00]

INFO     equ 0x0600             ; VbeInfoBlock (512 bytes)
MODEINFO equ 0x0800             ; ModeInfoBlock (256 bytes)

start:
    cld
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    mov dword [INFO], 'VBE2'
    mov di, INFO
    mov ax, 0x4F00
    int 0x10
    cmp ax, 0x004F
    jne fail
    cmp dword [INFO], 'VESA'
    jne fail
    mov si, vbe_label
    call puts
    mov ax, [INFO + 4]
    call hex16
    ; Walk the mode list for 800x600x32 with a linear frame buffer.
    lfs si, [INFO + 0x0E]
.next_mode:
    mov cx, [fs:si]
    add si, 2
    cmp cx, 0xFFFF
    je fail
    mov di, MODEINFO
    mov ax, 0x4F01
    int 0x10
    cmp ax, 0x004F
    jne .next_mode
    test byte [MODEINFO], 0x80  ; a linear frame buffer
    jz .next_mode
    cmp word [MODEINFO + 0x12], 800
    jne .next_mode
    cmp word [MODEINFO + 0x14], 600
    jne .next_mode
    cmp byte [MODEINFO + 0x19], 32
    jne .next_mode
    mov [mode], cx
    mov si, mode_label
    call puts
    mov ax, cx
    call hex16
    mov si, lfb_label
    call puts
    mov ax, [MODEINFO + 0x2A]
    call hex16_bare
    mov ax, [MODEINFO + 0x28]
    call hex16_bare
    mov al, 10
    out DEBUGCON_PORT, al
    ; Set it, with the linear frame buffer.
    mov bx, [mode]
    or bx, 0x4000
    mov ax, 0x4F02
    int 0x10
    cmp ax, 0x004F
    jne fail
    ; Bank 0 red, bank 1 green, through the window.
    mov eax, 0x00FF0000
    call fill_window
    mov ax, 0x4F05
    xor bx, bx
    mov dx, 1
    int 0x10
    mov eax, 0x0000C000
    call fill_window
    ; The rest through the linear frame buffer, in 32-bit protected mode.
    mov ebx, [MODEINFO + 0x28]
    cli
    lgdt [gdt_pointer]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    jmp 0x08:protected

; fill_window: the 64 KiB window at 0xA0000 with the pixel in EAX.
fill_window:
    push es
    push word 0xA000
    pop es
    xor di, di
    mov cx, 0x4000
    rep stosd
    pop es
    ret

fail:
    mov si, fail_label
    call puts
    EXIT 0x11

hex16:
    push ax
    mov al, ' '
    out DEBUGCON_PORT, al
    pop ax
hex16_bare:
    mov cx, 4
.digit:
    rol ax, 4
    push ax
    and al, 0x0F
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'a' - '9' - 1
.out:
    out DEBUGCON_PORT, al
    pop ax
    loop .digit
    ret

puts:
    lodsb
    test al, al
    jz .done
    out DEBUGCON_PORT, al
    jmp puts
.done:
    ret

[BITS 32]
protected:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x7C00
    ; Lines 48-599: blue fading to green, a line at a time.
    mov edx, 48
.line:
    mov edi, edx
    imul edi, edi, 800 * 4
    add edi, ebx
    mov eax, edx
    shr eax, 2                  ; 12-149: green rises
    shl eax, 8
    mov ecx, 599
    sub ecx, edx
    shr ecx, 2                  ; blue falls
    or eax, ecx
    mov ecx, 800
    rep stosd
    inc edx
    cmp edx, 600
    jb .line
    mov al, 0x10
    out DEBUG_EXIT_PORT, al
    cli
    hlt

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF       ; 0x08: flat 32-bit code
    dq 0x00CF92000000FFFF       ; 0x10: flat 32-bit data
gdt_pointer:
    dw gdt_pointer - gdt - 1
    dd gdt

mode       dw 0
vbe_label  db "vbe", 0
mode_label db " mode", 0
lfb_label  db " lfb ", 0
fail_label db "no 800x600x32 VESA mode", 10, 0

BOOT_SIGNATURE
