; instructions.asm -- what boot-sector programs use beyond the 8086: a 16-bit `in ax, 0x40`
; (the PIT's channels 0 and 1, split into byte reads as on the ISA bus), rdtsc, 32-bit registers
; and bswap in real mode. Prints "ok" on the debug console, or "X".
[ORG 0x7C00]
[BITS 16]
  in ax, 0x40        ; 16-bit read of the PIT
  mov bx, ax
  rdtsc
  mov ecx, eax
  rdtsc
  sub eax, ecx       ; 386 register in real mode
  jz .bad
  bswap eax          ; a 486 opcode
  movzx edx, bl
  mov al, 'o'
  out 0xe9, al
  mov al, 'k'
  out 0xe9, al
  cli
  hlt
.bad:
  mov al, 'X'
  out 0xe9, al
  cli
  hlt
times 510-($-$$) db 0
dw 0xaa55
