;; Base64 (RFC 4648 §4, padded) of a payload, unmasked on the way (RFC 6455 §5.3), written
;; straight into the journal's buffer. Compiled by `npm run wasm` (scripts/wasm.ts) into
;; base64-simd-wasm.ts; base64-simd.ts holds the memory layout and the JavaScript side.
;;
;; Why WebAssembly: Node 20 has no base64-into-a-buffer API. Its encoder (simdutf) is fast,
;; but it returns a string, which V8 copies into fresh young-generation memory and the
;; journal copies out again: in a proxy recording large messages those two copies cost more
;; than the encoding. Here the payload is copied in once and its base64 written once, where
;; the direct write takes it from.
;;
;; The vector loop is Wojciech Muła's SSE method (http://0x80.pl/notesen/2016-01-12-sse-base64-encoding.html)
;; in WebAssembly SIMD: 12 bytes in, 16 letters out a step. Memory: the 64 letters at 0
;; (for the scalar tail); the caller places input and output anywhere past them.
(module
  (memory (export "memory") 1)
  (data (i32.const 0) "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")

  (func $letter (param $i i32) (result i32) (i32.load8_u (local.get $i)))

  ;; encode(src, n, dst, key) -> bytes written: the base64 of the n bytes at src, each XORed
  ;; with byte (i mod 4) of $key (little-endian; 0 for none), written at dst. Writes exactly
  ;; 4 * ceil(n / 3) bytes; reads only [src, src + n); unmasks its last bytes (after the last
  ;; vector step: fewer than 16) in place.
  (func (export "encode") (param $src i32) (param $n i32) (param $dst i32) (param $key i32) (result i32)
    (local $end i32) (local $out i32) (local $j i32)
    (local $k v128) (local $v v128) (local $m1 v128) (local $s1 v128) (local $m2 v128) (local $s2 v128)
    (local $offsets v128) (local $c51 v128) (local $c26 v128) (local $c13 v128)
    (local $b0 i32) (local $b1 i32) (local $b2 i32) (local $r i32)
    (local.set $end (i32.add (local.get $src) (local.get $n)))
    (local.set $out (local.get $dst))
    (local.set $k (i32x4.splat (local.get $key)))
    (local.set $m1 (v128.const i32x4 0x0fc0fc00 0x0fc0fc00 0x0fc0fc00 0x0fc0fc00))
    (local.set $s1 (v128.const i16x8 1 16 1 16 1 16 1 16))
    (local.set $m2 (v128.const i32x4 0x003f03f0 0x003f03f0 0x003f03f0 0x003f03f0))
    (local.set $s2 (v128.const i16x8 16 256 16 256 16 256 16 256))
    (local.set $offsets (v128.const i8x16 71 -4 -4 -4 -4 -4 -4 -4 -4 -4 -4 -19 -16 65 0 0))
    (local.set $c51 (v128.const i8x16 51 51 51 51 51 51 51 51 51 51 51 51 51 51 51 51))
    (local.set $c26 (v128.const i8x16 26 26 26 26 26 26 26 26 26 26 26 26 26 26 26 26))
    (local.set $c13 (v128.const i8x16 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13 13))
    ;; One step (written out five times below: WebAssembly has no macros, and V8 does not
    ;; inline a function taking vectors here, which made it 2.5x slower):
    ;; 1. 16 bytes loaded (12 used), XORed with the key, each 3 bytes [b0 b1 b2] shuffled to
    ;;    a 32-bit lane [b1 b0 b2 b1]: as 16-bit halves b0b1 and b1b2, big-endian, so each
    ;;    6-bit group is a bit field of one half.
    ;; 2. Groups: low half b0b1 holds b0>>2 (bits 15-10) and (b0b1>>4)&63 (bits 9-4), high half
    ;;    b1b2 holds (b1b2>>6)&63 (bits 11-6) and b2&63. The ones at bits 15-10 and 11-6 are
    ;;    masked ($m1), the second moved up 4 by a multiply ($s1), both shifted down 10; the
    ;;    other two masked ($m2) and moved up into the upper byte ($s2). Then one group a byte.
    ;; 3. Letters: each group (0-63) plus its range's offset ('A'-0 for 0-25, 'a'-26 for
    ;;    26-51, '0'-52 for 52-61, '+'-62, '/'-63), looked up by a swizzle of $offsets with 52-63
    ;;    mapped to 1-12 (saturating - 51), 0-25 to 13 and 26-51 to 0.
    ;; Four steps a turn while 52 bytes remain (the fourth load reads 16 at +36), then one a
    ;; turn while 16 do. Every step takes 12 bytes, a multiple of 4: the key stays in phase.
    (block $done4
      (loop $four
        (br_if $done4 (i32.gt_u (i32.add (local.get $src) (i32.const 52)) (local.get $end)))
        (local.set $v (i8x16.shuffle 1 0 2 1 4 3 5 4 7 6 8 7 10 9 11 10
          (v128.xor (v128.load offset=0 align=1 (local.get $src)) (local.get $k)) (local.get $k)))
        (local.set $v (v128.or
          (i16x8.shr_u (i16x8.mul (v128.and (local.get $v) (local.get $m1)) (local.get $s1)) (i32.const 10))
          (i16x8.mul (v128.and (local.get $v) (local.get $m2)) (local.get $s2))))
        (v128.store offset=0 align=1 (local.get $out)
          (i8x16.add (local.get $v) (i8x16.swizzle (local.get $offsets)
            (v128.or (i8x16.sub_sat_u (local.get $v) (local.get $c51))
                     (v128.and (i8x16.lt_s (local.get $v) (local.get $c26)) (local.get $c13))))))
        (local.set $v (i8x16.shuffle 1 0 2 1 4 3 5 4 7 6 8 7 10 9 11 10
          (v128.xor (v128.load offset=12 align=1 (local.get $src)) (local.get $k)) (local.get $k)))
        (local.set $v (v128.or
          (i16x8.shr_u (i16x8.mul (v128.and (local.get $v) (local.get $m1)) (local.get $s1)) (i32.const 10))
          (i16x8.mul (v128.and (local.get $v) (local.get $m2)) (local.get $s2))))
        (v128.store offset=16 align=1 (local.get $out)
          (i8x16.add (local.get $v) (i8x16.swizzle (local.get $offsets)
            (v128.or (i8x16.sub_sat_u (local.get $v) (local.get $c51))
                     (v128.and (i8x16.lt_s (local.get $v) (local.get $c26)) (local.get $c13))))))
        (local.set $v (i8x16.shuffle 1 0 2 1 4 3 5 4 7 6 8 7 10 9 11 10
          (v128.xor (v128.load offset=24 align=1 (local.get $src)) (local.get $k)) (local.get $k)))
        (local.set $v (v128.or
          (i16x8.shr_u (i16x8.mul (v128.and (local.get $v) (local.get $m1)) (local.get $s1)) (i32.const 10))
          (i16x8.mul (v128.and (local.get $v) (local.get $m2)) (local.get $s2))))
        (v128.store offset=32 align=1 (local.get $out)
          (i8x16.add (local.get $v) (i8x16.swizzle (local.get $offsets)
            (v128.or (i8x16.sub_sat_u (local.get $v) (local.get $c51))
                     (v128.and (i8x16.lt_s (local.get $v) (local.get $c26)) (local.get $c13))))))
        (local.set $v (i8x16.shuffle 1 0 2 1 4 3 5 4 7 6 8 7 10 9 11 10
          (v128.xor (v128.load offset=36 align=1 (local.get $src)) (local.get $k)) (local.get $k)))
        (local.set $v (v128.or
          (i16x8.shr_u (i16x8.mul (v128.and (local.get $v) (local.get $m1)) (local.get $s1)) (i32.const 10))
          (i16x8.mul (v128.and (local.get $v) (local.get $m2)) (local.get $s2))))
        (v128.store offset=48 align=1 (local.get $out)
          (i8x16.add (local.get $v) (i8x16.swizzle (local.get $offsets)
            (v128.or (i8x16.sub_sat_u (local.get $v) (local.get $c51))
                     (v128.and (i8x16.lt_s (local.get $v) (local.get $c26)) (local.get $c13))))))
        (local.set $src (i32.add (local.get $src) (i32.const 48)))
        (local.set $out (i32.add (local.get $out) (i32.const 64)))
        (br $four)))
    (block $done1
      (loop $one
        (br_if $done1 (i32.gt_u (i32.add (local.get $src) (i32.const 16)) (local.get $end)))
        (local.set $v (i8x16.shuffle 1 0 2 1 4 3 5 4 7 6 8 7 10 9 11 10
          (v128.xor (v128.load offset=0 align=1 (local.get $src)) (local.get $k)) (local.get $k)))
        (local.set $v (v128.or
          (i16x8.shr_u (i16x8.mul (v128.and (local.get $v) (local.get $m1)) (local.get $s1)) (i32.const 10))
          (i16x8.mul (v128.and (local.get $v) (local.get $m2)) (local.get $s2))))
        (v128.store offset=0 align=1 (local.get $out)
          (i8x16.add (local.get $v) (i8x16.swizzle (local.get $offsets)
            (v128.or (i8x16.sub_sat_u (local.get $v) (local.get $c51))
                     (v128.and (i8x16.lt_s (local.get $v) (local.get $c26)) (local.get $c13))))))
        (local.set $src (i32.add (local.get $src) (i32.const 12)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br $one)))
    ;; The rest (under 16 bytes): unmasked in place (its offset from the payload's start is a
    ;; multiple of 12, so byte j takes key byte j mod 4), then 3 bytes at a time, then padding.
    (local.set $j (i32.const 0))
    (block $unmasked
      (loop $unmask
        (br_if $unmasked (i32.ge_u (i32.add (local.get $src) (local.get $j)) (local.get $end)))
        (i32.store8 (i32.add (local.get $src) (local.get $j))
          (i32.xor (i32.load8_u (i32.add (local.get $src) (local.get $j)))
            (i32.shr_u (local.get $key) (i32.shl (i32.and (local.get $j) (i32.const 3)) (i32.const 3)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $unmask)))
    (block $triples
      (loop $triple
        (br_if $triples (i32.gt_u (i32.add (local.get $src) (i32.const 3)) (local.get $end)))
        (local.set $b0 (i32.load8_u (local.get $src)))
        (local.set $b1 (i32.load8_u offset=1 (local.get $src)))
        (local.set $b2 (i32.load8_u offset=2 (local.get $src)))
        (i32.store (local.get $out)
          (i32.or
            (i32.or
              (call $letter (i32.shr_u (local.get $b0) (i32.const 2)))
              (i32.shl (call $letter (i32.or (i32.shl (i32.and (local.get $b0) (i32.const 3)) (i32.const 4)) (i32.shr_u (local.get $b1) (i32.const 4)))) (i32.const 8)))
            (i32.or
              (i32.shl (call $letter (i32.or (i32.shl (i32.and (local.get $b1) (i32.const 15)) (i32.const 2)) (i32.shr_u (local.get $b2) (i32.const 6)))) (i32.const 16))
              (i32.shl (call $letter (i32.and (local.get $b2) (i32.const 63))) (i32.const 24)))))
        (local.set $src (i32.add (local.get $src) (i32.const 3)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $triple)))
    (local.set $r (i32.sub (local.get $end) (local.get $src)))
    (if (i32.eq (local.get $r) (i32.const 1))
      (then
        (local.set $b0 (i32.load8_u (local.get $src)))
        (i32.store (local.get $out)
          (i32.or
            (i32.or (call $letter (i32.shr_u (local.get $b0) (i32.const 2)))
                    (i32.shl (call $letter (i32.shl (i32.and (local.get $b0) (i32.const 3)) (i32.const 4))) (i32.const 8)))
            (i32.const 0x3d3d0000)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))))
    (if (i32.eq (local.get $r) (i32.const 2))
      (then
        (local.set $b0 (i32.load8_u (local.get $src)))
        (local.set $b1 (i32.load8_u offset=1 (local.get $src)))
        (i32.store (local.get $out)
          (i32.or
            (i32.or (call $letter (i32.shr_u (local.get $b0) (i32.const 2)))
                    (i32.shl (call $letter (i32.or (i32.shl (i32.and (local.get $b0) (i32.const 3)) (i32.const 4)) (i32.shr_u (local.get $b1) (i32.const 4)))) (i32.const 8)))
            (i32.or (i32.shl (call $letter (i32.shl (i32.and (local.get $b1) (i32.const 15)) (i32.const 2))) (i32.const 16))
                    (i32.const 0x3d000000))))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))))
    (i32.sub (local.get $out) (local.get $dst)))
)
