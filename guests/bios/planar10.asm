; planar10.asm -- planar.asm in mode 10h (EGA, 640x350, 16 colours): the same drawing, with
; the 8x14 character cell; reports "pixel 0e compare 55 mode 10".
%define MODE 0x10
%include "bios/planar.asm"
