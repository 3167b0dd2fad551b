; elf32.asm -- a 32-bit ELF executable, headers written out here so that nasm alone builds it:
; one PT_LOAD segment at 1 MiB, entry at `start`. picovmm loads it by its program header and
; enters it in protected mode; it checks CR0.PE and where it runs, reports on the serial port (COM1),
; and exits with 0x45 ("E").
%include "picovmm.inc"

[BITS 32]
BASE equ 0x100000
[ORG BASE]

elf_header:
    db 0x7F, "ELF", 1, 1, 1, 0          ; ELF32, little-endian, version 1
    times 8 db 0
    dw 2                                ; ET_EXEC
    dw 3                                ; EM_386
    dd 1                                ; version
    dd start                            ; e_entry
    dd program_header - $$              ; e_phoff
    dd 0                                ; e_shoff
    dd 0                                ; e_flags
    dw 52                               ; e_ehsize
    dw 32                               ; e_phentsize
    dw 1                                ; e_phnum
    dw 0, 0, 0                          ; no sections
program_header:
    dd 1                                ; PT_LOAD
    dd 0                                ; p_offset: the whole file
    dd BASE                             ; p_vaddr
    dd BASE                             ; p_paddr
    dd file_end - $$                    ; p_filesz
    dd file_end - $$ + 0x1000           ; p_memsz: 4 KiB of zeroed BSS after the file
    dd 5                                ; read + execute
    dd 0x1000

start:
    mov eax, cr0
    test eax, 1
    jz .wrong
    call .here
.here:
    pop eax                             ; where this code really runs
    cmp eax, .here
    jne .wrong
    cmp dword [file_end], 0             ; the BSS was zeroed
    jne .wrong
    mov esi, ok
    call print
    mov al, 0x45
    out DEBUG_EXIT_PORT, al
.wrong:
    mov al, 0x01
    out DEBUG_EXIT_PORT, al
    hlt

SERIAL_PRINT_FLAT 32

ok: db "ELF loaded at 1 MiB, entered in protected mode", 10, 0
file_end:
