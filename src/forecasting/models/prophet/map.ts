/**
 * Exact MAP of Prophet's Stan model (linear trend, additive terms), pure float64.
 *
 * With jacobian off (as cmdstan's optimize), the negative log density of
 *   y ~ normal(Z theta, sigma), theta_j ~ normal(0, 1/sqrt(l2_j)) or double_exponential(0, 1/l1_j),
 *   sigma ~ normal(0, sigmaPrior)
 * is f = 0.5 theta'D theta + sum l1_j |theta_j| + sigma^2/(2 sigmaPrior^2) + n log sigma + RSS/(2 sigma^2).
 * It depends on the data only through G = Z'Z, b = Z'y and y'y, so after one O(n p^2) pass the
 * fit costs O(p^3), independent of n. For a fixed sigma the problem is a convex quadratic plus an
 * L1 term, solved exactly by an active-set (feature-sign) method; sigma then has a closed form
 * given RSS. Alternating the two is a majorize-minimize scheme (f only decreases), and it lands
 * on the optimum that Stan's L-BFGS approaches, with the Laplace-prior zeros exactly at zero.
 */

export interface MapProblem {
  n: number;
  p: number;
  /** Z'Z, p x p row-major (full, symmetric). */
  g: Float64Array;
  /** Z'y. */
  b: Float64Array;
  yy: number;
  /** Normal prior precision per parameter (0 for Laplace ones). */
  l2: Float64Array;
  /** Laplace prior rate 1/scale per parameter (0 for normal ones). */
  l1: Float64Array;
  sigmaPrior: number;
}

export interface MapResult {
  theta: Float64Array;
  sigma: number;
  outerIterations: number;
}

/** Z'Z and Z'y of a row-major n x p design, skipping zero entries (trend ramps are sparse). */
export function gram(z: Float64Array, y: Float64Array, n: number, p: number): { g: Float64Array; b: Float64Array; yy: number } {
  const g = new Float64Array(p * p);
  const b = new Float64Array(p);
  let yy = 0;
  for (let i = 0; i < n; i++) {
    const row = i * p;
    const yi = y[i];
    yy += yi * yi;
    for (let a = 0; a < p; a++) {
      const za = z[row + a];
      if (za === 0) continue;
      b[a] += za * yi;
      const ga = a * p;
      for (let c = a; c < p; c++) g[ga + c] += za * z[row + c];
    }
  }
  for (let a = 0; a < p; a++) for (let c = 0; c < a; c++) g[a * p + c] = g[c * p + a];
  return { g, b, yy };
}

/** In-place Cholesky solve of the m x m SPD system a x = rhs (a and rhs are overwritten). */
function cholSolve(a: Float64Array, rhs: Float64Array, m: number): boolean {
  for (let j = 0; j < m; j++) {
    let d = a[j * m + j];
    for (let k = 0; k < j; k++) d -= a[j * m + k] * a[j * m + k];
    if (!(d > 0)) return false;
    d = Math.sqrt(d);
    a[j * m + j] = d;
    for (let i = j + 1; i < m; i++) {
      let s = a[i * m + j];
      for (let k = 0; k < j; k++) s -= a[i * m + k] * a[j * m + k];
      a[i * m + j] = s / d;
    }
  }
  for (let i = 0; i < m; i++) {
    let s = rhs[i];
    for (let k = 0; k < i; k++) s -= a[i * m + k] * rhs[k];
    rhs[i] = s / a[i * m + i];
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = rhs[i];
    for (let k = i + 1; k < m; k++) s -= a[k * m + i] * rhs[k];
    rhs[i] = s / a[i * m + i];
  }
  return true;
}

/**
 * Minimise 0.5 x'Hx - c'x + sum lam_j |x_j| exactly, where H = G + s*diag(l2), c = b and
 * lam = s*l1 (the sigma-fixed objective multiplied by s = sigma^2). x is a warm start, updated.
 */
class Lasso {
  private readonly h: Float64Array;
  private readonly lam: Float64Array;
  private readonly a: Float64Array;
  private readonly rhs: Float64Array;
  private readonly idx: Int32Array;
  private readonly active: Uint8Array;
  private readonly grad: Float64Array;

  constructor(private readonly pr: MapProblem) {
    const p = pr.p;
    this.h = new Float64Array(p * p);
    this.lam = new Float64Array(p);
    this.a = new Float64Array(p * p);
    this.rhs = new Float64Array(p);
    this.idx = new Int32Array(p);
    this.active = new Uint8Array(p);
    this.grad = new Float64Array(p);
  }

  solve(x: Float64Array, s: number): void {
    const { p, g, l2, l1 } = this.pr;
    const { h, lam, active } = this;
    h.set(g);
    for (let j = 0; j < p; j++) {
      h[j * p + j] += s * l2[j];
      lam[j] = s * l1[j];
      active[j] = l1[j] === 0 || x[j] !== 0 ? 1 : 0;
    }
    for (let iter = 0; iter < 50 * p; iter++) {
      this.optimizeActive(x);
      // KKT for zero Laplace parameters: |gradient| <= lambda; activate the worst violator
      this.gradient(x);
      let worst = -1;
      let worstExcess = 0;
      for (let j = 0; j < p; j++) {
        if (active[j]) continue;
        const excess = Math.abs(this.grad[j]) - lam[j];
        if (excess > 1e-12 * (lam[j] + 1) && excess > worstExcess) {
          worst = j;
          worstExcess = excess;
        }
      }
      if (worst < 0) return;
      active[worst] = 1;
    }
  }

  private gradient(x: Float64Array): void {
    const { p, b } = this.pr;
    const { h, grad } = this;
    for (let i = 0; i < p; i++) {
      let v = -b[i];
      const hi = i * p;
      for (let j = 0; j < p; j++) v += h[hi + j] * x[j];
      grad[i] = v;
    }
  }

  private objective(x: Float64Array): number {
    const { p, b } = this.pr;
    const { h, lam } = this;
    let f = 0;
    for (let i = 0; i < p; i++) {
      const xi = x[i];
      if (xi === 0) continue;
      let hx = 0;
      const hi = i * p;
      for (let j = 0; j < p; j++) hx += h[hi + j] * x[j];
      f += xi * (0.5 * hx - b[i]) + lam[i] * Math.abs(xi);
    }
    return f;
  }

  /** Feature-sign steps: minimise on the active set with fixed signs, stopping at sign changes. */
  private optimizeActive(x: Float64Array): void {
    const { p, b, l1 } = this.pr;
    const { h, lam, a, rhs, idx, active } = this;
    const trial = new Float64Array(p);
    for (let step = 0; step < 4 * p; step++) {
      let m = 0;
      for (let j = 0; j < p; j++) if (active[j]) idx[m++] = j;
      const sign = (j: number): number => {
        if (l1[j] === 0) return 0;
        if (x[j] !== 0) return Math.sign(x[j]);
        // newly activated at zero: the sign that decreases the objective
        let gj = -b[j];
        for (let k = 0; k < p; k++) gj += h[j * p + k] * x[k];
        return gj > 0 ? -1 : 1;
      };
      const sg = new Float64Array(m);
      for (let u = 0; u < m; u++) {
        const j = idx[u];
        sg[u] = sign(j);
        rhs[u] = b[j] - lam[j] * sg[u];
        for (let v = 0; v < m; v++) a[u * m + v] = h[j * p + idx[v]];
      }
      if (!cholSolve(a, rhs, m)) {
        // singular active set: fall back on a tiny ridge so the step stays defined
        for (let u = 0; u < m; u++) {
          const j = idx[u];
          rhs[u] = b[j] - lam[j] * sg[u];
          for (let v = 0; v < m; v++) a[u * m + v] = h[j * p + idx[v]] + (u === v ? 1e-12 * (1 + h[j * p + j]) : 0);
        }
        if (!cholSolve(a, rhs, m)) return;
      }
      // Where does the segment x -> target flip a sign? Check those points and the target.
      let consistent = true;
      for (let u = 0; u < m; u++) if (sg[u] !== 0 && Math.sign(rhs[u]) !== sg[u]) consistent = false;
      if (consistent) {
        for (let u = 0; u < m; u++) x[idx[u]] = rhs[u];
        return;
      }
      // crossing point of each coordinate whose sign flips on the way (Infinity if none)
      const cross = new Float64Array(m).fill(Infinity);
      const candidates: number[] = [1];
      for (let u = 0; u < m; u++) {
        const j = idx[u];
        if (sg[u] === 0 || x[j] === 0 || Math.sign(rhs[u]) === sg[u]) continue;
        cross[u] = x[j] / (x[j] - rhs[u]);
        candidates.push(cross[u]);
      }
      let bestT = 1;
      let bestF = Infinity;
      for (const t of candidates) {
        trial.set(x);
        for (let u = 0; u < m; u++) trial[idx[u]] = x[idx[u]] + t * (rhs[u] - x[idx[u]]);
        const f = this.objective(trial);
        if (f < bestF) {
          bestF = f;
          bestT = t;
        }
      }
      for (let u = 0; u < m; u++) {
        const j = idx[u];
        const to = x[j] + bestT * (rhs[u] - x[j]);
        // the coordinate whose crossing point was chosen lands on zero and leaves the active set
        if (sg[u] !== 0 && (cross[u] === bestT || to === 0)) {
          x[j] = 0;
          active[j] = 0;
        } else {
          x[j] = to;
        }
      }
    }
  }
}

/** sigma^2 minimising s/(2 sp^2) + (n/2) log s + rss/(2 s): root of s^2/sp^2 + n s - rss = 0. */
function sigma2For(rss: number, n: number, sigmaPrior: number): number {
  const a = 1 / (sigmaPrior * sigmaPrior);
  return (2 * rss) / (n + Math.sqrt(n * n + 4 * a * rss));
}

function rssOf(pr: MapProblem, x: Float64Array): number {
  const { p, g, b, yy } = pr;
  let q = 0;
  let lin = 0;
  for (let i = 0; i < p; i++) {
    const xi = x[i];
    if (xi === 0) continue;
    lin += xi * b[i];
    let gx = 0;
    for (let j = 0; j < p; j++) gx += g[i * p + j] * x[j];
    q += xi * gx;
  }
  return Math.max(yy - 2 * lin + q, 0);
}

/** Negative log density (constants dropped) at theta, sigma: for diagnostics and tests. */
export function mapObjective(pr: MapProblem, theta: Float64Array, sigma: number): number {
  let f = 0;
  for (let j = 0; j < pr.p; j++) f += 0.5 * pr.l2[j] * theta[j] * theta[j] + pr.l1[j] * Math.abs(theta[j]);
  const s = sigma * sigma;
  return f + s / (2 * pr.sigmaPrior * pr.sigmaPrior) + pr.n * Math.log(sigma) + rssOf(pr, theta) / (2 * s);
}

export function solveMap(pr: MapProblem, theta0: Float64Array, sigma0 = 1): MapResult {
  const x = Float64Array.from(theta0);
  const lasso = new Lasso(pr);
  let s = sigma0 * sigma0;
  let it = 0;
  for (; it < 100; it++) {
    lasso.solve(x, s);
    const next = sigma2For(rssOf(pr, x), pr.n, pr.sigmaPrior);
    const done = Math.abs(next - s) <= 1e-12 * s;
    s = next;
    if (done || !(s > 0)) break;
  }
  if (!(s > 0)) s = Number.MIN_VALUE;
  lasso.solve(x, s);
  return { theta: x, sigma: Math.sqrt(s), outerIterations: it + 1 };
}
