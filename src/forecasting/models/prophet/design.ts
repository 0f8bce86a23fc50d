/**
 * Z'Z and Z'y of Prophet's design [t, 1, (t - c_j)+ for each changepoint, Fourier features]
 * without forming Z: the trend columns reduce to suffix sums over rows past each changepoint,
 * so only the Fourier block costs O(n K^2). This is the bulk of a fit's time.
 */
export interface Gram {
  g: Float64Array;
  b: Float64Array;
  yy: number;
}

/**
 * t: scaled times, ascending; y: scaled values; cps: changepoint times, ascending;
 * f: Fourier features column-major (k columns of length n), or k dummy zero columns.
 */
export function prophetGram(t: Float64Array, y: Float64Array, cps: Float64Array, f: Float64Array, k: number): Gram {
  const n = t.length;
  const s = cps.length;
  const p = 2 + s + k;
  const g = new Float64Array(p * p);
  const b = new Float64Array(p);
  const set = (i: number, j: number, v: number): void => {
    g[i * p + j] = v;
    g[j * p + i] = v;
  };

  let st = 0;
  let stt = 0;
  let sy = 0;
  let sty = 0;
  let yy = 0;
  for (let i = 0; i < n; i++) {
    st += t[i];
    stt += t[i] * t[i];
    sy += y[i];
    sty += t[i] * y[i];
    yy += y[i] * y[i];
  }
  set(0, 0, stt);
  set(0, 1, st);
  set(1, 1, n);
  b[0] = sty;
  b[1] = sy;

  // First row at or past each changepoint (Stan's A matrix: t >= c_j).
  const from = new Int32Array(s);
  for (let j = 0, i = 0; j < s; j++) {
    while (i < n && t[i] < cps[j]) i++;
    from[j] = i;
  }
  // Ramps: u = t - c_l on rows past c_l; (t - c_j)(t - c_l) = u (u + c_l - c_j) for c_j <= c_l.
  const u1 = new Float64Array(s);
  const u2 = new Float64Array(s);
  for (let l = 0; l < s; l++) {
    let a = 0;
    let a2 = 0;
    let ay = 0;
    const c = cps[l];
    for (let i = from[l]; i < n; i++) {
      const u = t[i] - c;
      a += u;
      a2 += u * u;
      ay += u * y[i];
    }
    u1[l] = a;
    u2[l] = a2;
    b[2 + l] = ay;
    set(0, 2 + l, a2 + c * a);
    set(1, 2 + l, a);
  }
  for (let j = 0; j < s; j++) for (let l = j; l < s; l++) set(2 + j, 2 + l, u2[l] + (cps[l] - cps[j]) * u1[l]);

  // Fourier columns: suffix sums of f and t f give the ramp cross terms.
  const off = 2 + s;
  for (let q = 0; q < k; q++) {
    const col = q * n;
    let sf = 0;
    let stf = 0;
    let sfy = 0;
    let j = s - 1;
    for (; j >= 0 && from[j] >= n; j--) set(2 + j, off + q, 0); // empty ramp
    for (let i = n - 1; i >= 0; i--) {
      const v = f[col + i];
      sf += v;
      stf += t[i] * v;
      sfy += v * y[i];
      while (j >= 0 && from[j] === i) {
        set(2 + j, off + q, stf - cps[j] * sf);
        j--;
      }
    }
    set(0, off + q, stf);
    set(1, off + q, sf);
    b[off + q] = sfy;
    for (let r = q; r < k; r++) {
      const col2 = r * n;
      let acc = 0;
      for (let i = 0; i < n; i++) acc += f[col + i] * f[col2 + i];
      set(off + q, off + r, acc);
    }
  }
  return { g, b, yy };
}
