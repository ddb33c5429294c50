/*
 * K-means' passes over the data, in float64 arithmetic on float32 or float64 rows:
 *   center(v, n, dim, x, sq, mean)      x = v − column mean, as scikit-learn centers it (see
 *       kmeans.ts); sq[i] = ‖xᵢ‖²; returns the mean of the column variances
 *   seedStep(x, n, dim, sq, float32, ids, closest, cum, result)    one k-means++ step (below)
 *   centerDistances(v, n, dim, centers, labels, out)               out[i] = ‖vᵢ − c_labels[i]‖
 *   lloyd(x, n, dim, ct, kp, k, csq, labels, sums, counts)
 *       labels[i] = the first q < k minimising csq[q] − 2·x_i·c_q; sums and counts are
 *       overwritten with each cluster's sum of rows and its size.
 * `ct` holds the centers transposed, dim × kp, kp a multiple of 4, padded with zeros; the
 * products x_i·c_q are float64 sums over the rows' values. Float32 rows are read as they are stored and widened in registers, so
 * a pass reads 4 bytes per value where a float64 copy of the data would need 8, and one
 * Lloyd step is one pass (assignment and sums together) instead of two products.
 * Work is split into contiguous row ranges, one per core; each range's sums are added in
 * range order, so results do not depend on thread timing.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif
#include <math.h>
#include <stdbool.h>

#define ROWS 8
#define COLS 4
#define MAX_THREADS 16

typedef struct {
  const void *x;
  int f32;
  size_t n, dim, kp, k;
  const double *ct;
  const double *csq;
  double *out;      /* dots: n × kp */
  int32_t *labels;  /* lloyd */
  double *sums;     /* lloyd: this range's k × dim */
  double *counts;   /* lloyd: this range's k */
  double *scratch;  /* ROWS × (dim + kp) */
  size_t i0, i1;
} Range;

/* Widens rows [i, i + m) into buf (m × dim doubles). */
static void widen(const Range *r, size_t i, size_t m, double *buf) {
  const size_t dim = r->dim;
  if (r->f32) {
    const float *src = (const float *)r->x + i * dim;
    for (size_t t = 0; t < m * dim; t++) buf[t] = src[t];
  } else {
    memcpy(buf, (const double *)r->x + i * dim, m * dim * sizeof(double));
  }
}

#if defined(__AVX2__) && defined(__FMA__)
/* 4 rows × 8 columns: two vectors of columns, each row's value broadcast. */
static void rows4cols8(const double *buf, size_t dim, const double *c, size_t kp, double *o) {
  __m256d a00 = _mm256_setzero_pd(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
  for (size_t t = 0; t < dim; t++, c += kp) {
    __m256d c0 = _mm256_loadu_pd(c), c1 = _mm256_loadu_pd(c + 4);
    __m256d v0 = _mm256_broadcast_sd(buf + t), v1 = _mm256_broadcast_sd(buf + dim + t);
    __m256d v2 = _mm256_broadcast_sd(buf + 2 * dim + t), v3 = _mm256_broadcast_sd(buf + 3 * dim + t);
    a00 = _mm256_fmadd_pd(v0, c0, a00); a01 = _mm256_fmadd_pd(v0, c1, a01);
    a10 = _mm256_fmadd_pd(v1, c0, a10); a11 = _mm256_fmadd_pd(v1, c1, a11);
    a20 = _mm256_fmadd_pd(v2, c0, a20); a21 = _mm256_fmadd_pd(v2, c1, a21);
    a30 = _mm256_fmadd_pd(v3, c0, a30); a31 = _mm256_fmadd_pd(v3, c1, a31);
  }
  _mm256_storeu_pd(o, a00); _mm256_storeu_pd(o + 4, a01); o += kp;
  _mm256_storeu_pd(o, a10); _mm256_storeu_pd(o + 4, a11); o += kp;
  _mm256_storeu_pd(o, a20); _mm256_storeu_pd(o + 4, a21); o += kp;
  _mm256_storeu_pd(o, a30); _mm256_storeu_pd(o + 4, a31);
}

/* 8 rows × 4 columns: k-means++ tries 2 + ⌊ln k⌋ candidates at a time, 4 for up to 20 clusters. */
static void rows8cols4(const double *buf, size_t dim, const double *c, size_t kp, double *o) {
  __m256d a[ROWS];
  for (int r = 0; r < ROWS; r++) a[r] = _mm256_setzero_pd();
  for (size_t t = 0; t < dim; t++, c += kp) {
    __m256d c0 = _mm256_loadu_pd(c);
    for (int r = 0; r < ROWS; r++) a[r] = _mm256_fmadd_pd(_mm256_broadcast_sd(buf + r * dim + t), c0, a[r]);
  }
  for (int r = 0; r < ROWS; r++) _mm256_storeu_pd(o + r * kp, a[r]);
}
#endif

/* out[a·kp + q] for the m ≤ ROWS rows held widened in buf. */
static void block(const double *buf, size_t m, size_t dim, const double *ct, size_t kp, double *out) {
  size_t q0 = 0;
#if defined(__AVX2__) && defined(__FMA__)
  if (m == ROWS) {
    for (; q0 + 8 <= kp; q0 += 8) {
      rows4cols8(buf, dim, ct + q0, kp, out + q0);
      rows4cols8(buf + 4 * dim, dim, ct + q0, kp, out + 4 * kp + q0);
    }
    for (; q0 + 4 <= kp; q0 += 4) rows8cols4(buf, dim, ct + q0, kp, out + q0);
  }
#else
  /* portable: 4 rows × 4 columns of accumulators, which compilers vectorise on any SIMD */
  if (m == ROWS) {
    for (; q0 + COLS <= kp; q0 += COLS)
      for (size_t a0 = 0; a0 < ROWS; a0 += 4) {
        double acc[4][COLS] = {{0}};
        const double *c = ct + q0;
        for (size_t t = 0; t < dim; t++, c += kp)
          for (int a = 0; a < 4; a++)
            for (int u = 0; u < COLS; u++) acc[a][u] += buf[(a0 + a) * dim + t] * c[u];
        for (int a = 0; a < 4; a++) memcpy(out + (a0 + a) * kp + q0, acc[a], sizeof acc[a]);
      }
  }
#endif
  for (size_t a = 0; a < m; a++) {
    const double *row = buf + a * dim;
    for (size_t q = q0; q < kp; q++) {
      double acc = 0;
      for (size_t t = 0; t < dim; t++) acc += row[t] * ct[t * kp + q];
      out[a * kp + q] = acc;
    }
  }
}

static void *dotsRange(void *arg) {
  Range *r = arg;
  double *buf = r->scratch;
  for (size_t i = r->i0; i < r->i1; i += ROWS) {
    size_t m = r->i1 - i < ROWS ? r->i1 - i : ROWS;
    widen(r, i, m, buf);
    block(buf, m, r->dim, r->ct, r->kp, r->out + i * r->kp);
  }
  return NULL;
}

static void *lloydRange(void *arg) {
  Range *r = arg;
  double *buf = r->scratch, *dots = r->scratch + ROWS * r->dim;
  const size_t dim = r->dim, k = r->k;
  for (size_t i = r->i0; i < r->i1; i += ROWS) {
    size_t m = r->i1 - i < ROWS ? r->i1 - i : ROWS;
    widen(r, i, m, buf);
    block(buf, m, dim, r->ct, r->kp, dots);
    for (size_t a = 0; a < m; a++) {
      size_t best = 0;
      double bestD = r->csq[0] - 2 * dots[a * r->kp];
      for (size_t q = 1; q < k; q++) {
        const double d = r->csq[q] - 2 * dots[a * r->kp + q];
        if (d < bestD) { bestD = d; best = q; }
      }
      r->labels[i + a] = (int32_t)best;
      double *s = r->sums + best * dim;
      const double *row = buf + a * dim;
      for (size_t t = 0; t < dim; t++) s[t] += row[t];
      r->counts[best] += 1;
    }
  }
  return NULL;
}

/*
 * Splits [0, n) into one contiguous range per thread, each with its scratch rows and, for
 * Lloyd steps, its own k × (dim + 1) sums and counts; runs fn on them (range 0 on this
 * thread) and returns the shared allocation for the caller to free, or NULL when out of memory.
 */
static double *runRanges(const Range *base, Range *ranges, size_t threads, int withSums, void *(*fn)(void *)) {
  const size_t scratch = ROWS * (base->dim + base->kp), own = withSums ? base->k * (base->dim + 1) : 0;
  double *mem = calloc(threads * (scratch + own), sizeof(double));
  if (!mem) return NULL;
  for (size_t t = 0; t < threads; t++) {
    ranges[t] = *base;
    ranges[t].i0 = base->n * t / threads;
    ranges[t].i1 = base->n * (t + 1) / threads;
    ranges[t].scratch = mem + t * (scratch + own);
    ranges[t].sums = ranges[t].scratch + scratch;
    ranges[t].counts = ranges[t].sums + base->k * base->dim;
  }
  pthread_t ids[MAX_THREADS];
  size_t started = 1;
  for (; started < threads; started++) if (pthread_create(&ids[started], NULL, fn, &ranges[started]) != 0) break;
  fn(&ranges[0]);
  for (size_t t = 1; t < started; t++) pthread_join(ids[t], NULL);
  for (size_t t = started; t < threads; t++) fn(&ranges[t]); /* a thread that could not start */
  return mem;
}

static size_t threadCount(size_t n) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  size_t t = cores > 0 ? (size_t)cores : 1;
  if (t > MAX_THREADS) t = MAX_THREADS;
  /* below ~2000 rows a thread costs more than it saves */
  size_t useful = n / 2048 + 1;
  return t < useful ? t : useful;
}

static int typedArray(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *length) {
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, v, &type, length, data, NULL, NULL) != napi_ok) return 0;
  if (want == napi_float32_array && type == napi_float64_array) return 2; /* rows may be either */
  return type == want;
}

static size_t sizeArg(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return d > 0 ? (size_t)d : 0;
}

static napi_value fail(napi_env env, const char *message) {
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

/* Declares argv with the call's first `count` arguments, or throws `usage` when fewer were given. */
#define ARGUMENTS(count, usage)                                  \
  size_t argc = count;                                           \
  napi_value argv[count];                                        \
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);          \
  if (argc < count) return fail(env, usage)

/* Reads x, n, dim, ct, kp (the arguments both functions begin with) and checks their sizes. */
static int common(napi_env env, napi_value *argv, Range *r) {
  void *x, *ct;
  size_t xl, ctl;
  int xt = typedArray(env, argv[0], napi_float32_array, &x, &xl);
  if (!xt) return fail(env, "x must be a Float32Array or Float64Array"), 0;
  r->x = x;
  r->f32 = xt == 1;
  r->n = sizeArg(env, argv[1]);
  r->dim = sizeArg(env, argv[2]);
  if (!typedArray(env, argv[3], napi_float64_array, &ct, &ctl)) return fail(env, "ct must be a Float64Array"), 0;
  r->ct = ct;
  r->kp = sizeArg(env, argv[4]);
  if (r->dim == 0) return fail(env, "dim must be positive"), 0;
  if (r->kp == 0 || r->kp % COLS != 0) return fail(env, "kp must be a positive multiple of 4"), 0;
  if (xl < r->n * r->dim || ctl < r->dim * r->kp) return fail(env, "x or ct is shorter than its shape"), 0;
  return 1;
}

static napi_value Center(napi_env env, napi_callback_info info) {
  ARGUMENTS(6, "center(v, n, dim, x, sq, mean)");
  void *v, *x, *sqp, *meanp;
  size_t vl, xl, sql, meanl;
  const int vt = typedArray(env, argv[0], napi_float32_array, &v, &vl), xt = typedArray(env, argv[3], napi_float32_array, &x, &xl);
  if (!vt || vt != xt) return fail(env, "v and x must be both Float32Array or both Float64Array");
  const size_t n = sizeArg(env, argv[1]), dim = sizeArg(env, argv[2]);
  if (n == 0 || dim == 0 || vl < n * dim || xl < n * dim) return fail(env, "v or x is shorter than n × dim");
  if (!typedArray(env, argv[4], napi_float64_array, &sqp, &sql) || sql < n) return fail(env, "sq must be a Float64Array of n");
  if (!typedArray(env, argv[5], napi_float64_array, &meanp, &meanl) || meanl < dim) return fail(env, "mean must be a Float64Array of dim");
  double *sq = sqp, *mean = meanp;
  double *colSum = calloc(dim, sizeof(double));
  if (!colSum) return fail(env, "out of memory");
  double sqSum = 0;
  if (vt == 1) {
    /* numpy's float32 mean over axis 0: whole rows added in order, in float32 */
    const float *src = v;
    float *dst = x;
    float *sums = calloc(dim, sizeof(float));
    if (!sums) return free(colSum), fail(env, "out of memory");
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < dim; j++) sums[j] += src[i * dim + j];
    for (size_t j = 0; j < dim; j++) mean[j] = (float)((double)sums[j] / (double)n);
    free(sums);
    for (size_t i = 0; i < n; i++) {
      double s = 0;
      for (size_t j = 0; j < dim; j++) {
        const double c = (float)((double)src[i * dim + j] - mean[j]);
        dst[i * dim + j] = (float)c;
        s += c * c;
        colSum[j] += c;
      }
      sq[i] = s;
      sqSum += s;
    }
  } else {
    const double *src = v;
    double *dst = x;
    for (size_t j = 0; j < dim; j++) mean[j] = 0;
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < dim; j++) mean[j] += src[i * dim + j];
    for (size_t j = 0; j < dim; j++) mean[j] /= (double)n;
    for (size_t i = 0; i < n; i++) {
      double s = 0;
      for (size_t j = 0; j < dim; j++) {
        const double c = src[i * dim + j] - mean[j];
        dst[i * dim + j] = c;
        s += c * c;
        colSum[j] += c;
      }
      sq[i] = s;
      sqSum += s;
    }
  }
  /* np.mean(np.var(X, axis=0)) = (Σ‖xᵢ‖² / n − Σⱼ mean(x_j)²) / dim: the columns are centered,
     so E[x²] − E[x]² loses nothing */
  double variance = sqSum / (double)n;
  for (size_t j = 0; j < dim; j++) variance -= (colSum[j] / (double)n) * (colSum[j] / (double)n);
  free(colSum);
  napi_value result;
  napi_create_double(env, variance / (double)dim, &result);
  return result;
}

/*
 * One k-means++ step over the candidate rows `ids`: each candidate's squared distances
 * ‖c‖² − 2c·x + ‖x‖² (rounded to float32 for float32 data, negatives clipped to 0), their
 * minimum with `closest` and its potential (the float64 sum, rounded likewise); the first
 * candidate of least potential wins: `closest` becomes its minimum, `cum` the running sum
 * of `closest` (rounded at each step) for the next draws, result = [winner, potential].
 * With `closest` all +Infinity, the step scores the first center alone.
 */
static napi_value SeedStep(napi_env env, napi_callback_info info) {
  ARGUMENTS(9, "seedStep(x, n, dim, sq, float32, ids, closest, cum, result)");
  Range base = {0};
  void *x, *sqp, *idsp, *closestp, *cump, *resultp;
  size_t xl, sql, idsl, closestl, cuml, resultl;
  const int xt = typedArray(env, argv[0], napi_float32_array, &x, &xl);
  if (!xt) return fail(env, "x must be a Float32Array or Float64Array");
  base.x = x;
  base.f32 = xt == 1;
  base.n = sizeArg(env, argv[1]);
  base.dim = sizeArg(env, argv[2]);
  bool round32 = false;
  napi_get_value_bool(env, argv[4], &round32);
  if (base.n == 0 || base.dim == 0 || xl < base.n * base.dim) return fail(env, "x is shorter than n × dim");
  if (!typedArray(env, argv[3], napi_float64_array, &sqp, &sql) || sql < base.n) return fail(env, "sq must be a Float64Array of n");
  if (!typedArray(env, argv[5], napi_int32_array, &idsp, &idsl) || idsl == 0) return fail(env, "ids must be a non-empty Int32Array");
  if (!typedArray(env, argv[6], napi_float64_array, &closestp, &closestl) || closestl < base.n) return fail(env, "closest must be a Float64Array of n");
  if (!typedArray(env, argv[7], napi_float64_array, &cump, &cuml) || cuml < base.n) return fail(env, "cum must be a Float64Array of n");
  if (!typedArray(env, argv[8], napi_float64_array, &resultp, &resultl) || resultl < 2) return fail(env, "result must be a Float64Array of 2");
  const int32_t *ids = idsp;
  const double *sq = sqp;
  double *closest = closestp, *cum = cump, *result = resultp;
  const size_t n = base.n, dim = base.dim, t = idsl, kp = (t + COLS - 1) / COLS * COLS;
  for (size_t q = 0; q < t; q++) if (ids[q] < 0 || (size_t)ids[q] >= n) return fail(env, "ids must be rows of x");
  double *ct = calloc(dim * kp + n * kp + 2 * n, sizeof(double));
  if (!ct) return fail(env, "out of memory");
  double *dots = ct + dim * kp, *d = dots + n * kp, *bestD = d + n;
  for (size_t q = 0; q < t; q++)
    for (size_t j = 0; j < dim; j++) {
      const size_t at = (size_t)ids[q] * dim + j;
      ct[j * kp + q] = base.f32 ? (double)((const float *)x)[at] : ((const double *)x)[at];
    }
  base.ct = ct;
  base.kp = kp;
  base.out = dots;
  Range ranges[MAX_THREADS];
  double *mem = runRanges(&base, ranges, threadCount(n), 0, dotsRange);
  if (!mem) return free(ct), fail(env, "out of memory");
  free(mem);
  size_t best = 0;
  double bestPot = 0;
  for (size_t q = 0; q < t; q++) {
    const double sqr = sq[ids[q]];
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
      double v = -2.0 * dots[i * kp + q] + sqr + sq[i];
      if (round32) v = (float)v;
      v = v > 0 ? v : 0;
      if (closest[i] < v) v = closest[i];
      d[i] = v;
      sum += v;
    }
    const double pot = round32 ? (double)(float)sum : sum;
    /* np.argmin: the first minimum */
    if (q == 0 || pot < bestPot) {
      bestPot = pot;
      best = q;
      double *swap = bestD;
      bestD = d;
      d = swap;
    }
  }
  double acc = 0;
  for (size_t i = 0; i < n; i++) {
    closest[i] = bestD[i];
    acc += bestD[i];
    if (round32) acc = (float)acc;
    cum[i] = acc;
  }
  free(ct);
  result[0] = (double)best;
  result[1] = bestPot;
  return NULL;
}

static napi_value CenterDistances(napi_env env, napi_callback_info info) {
  ARGUMENTS(6, "centerDistances(v, n, dim, centers, labels, out)");
  void *v, *centersp, *labelsp, *outp;
  size_t vl, centersl, labelsl, outl;
  const int vt = typedArray(env, argv[0], napi_float32_array, &v, &vl);
  if (!vt) return fail(env, "v must be a Float32Array or Float64Array");
  const size_t n = sizeArg(env, argv[1]), dim = sizeArg(env, argv[2]);
  if (n == 0 || dim == 0 || vl < n * dim) return fail(env, "v is shorter than n × dim");
  if (!typedArray(env, argv[3], napi_float64_array, &centersp, &centersl) || centersl < dim) return fail(env, "centers must be a Float64Array of k × dim");
  if (!typedArray(env, argv[4], napi_int32_array, &labelsp, &labelsl) || labelsl < n) return fail(env, "labels must be an Int32Array of n");
  if (!typedArray(env, argv[5], napi_float64_array, &outp, &outl) || outl < n) return fail(env, "out must be a Float64Array of n");
  const double *centers = centersp;
  const int32_t *labels = labelsp;
  double *out = outp;
  const size_t k = centersl / dim;
  for (size_t i = 0; i < n; i++)
    if (labels[i] < 0 || (size_t)labels[i] >= k) return fail(env, "labels must index the centers");
  for (size_t i = 0; i < n; i++) {
    const double *c = centers + (size_t)labels[i] * dim;
    double s = 0;
    for (size_t j = 0; j < dim; j++) {
      const double e = (vt == 1 ? (double)((const float *)v)[i * dim + j] : ((const double *)v)[i * dim + j]) - c[j];
      s += e * e;
    }
    out[i] = sqrt(s);
  }
  return NULL;
}

static napi_value Lloyd(napi_env env, napi_callback_info info) {
  ARGUMENTS(10, "lloyd(x, n, dim, ct, kp, k, csq, labels, sums, counts)");
  Range base = {0};
  if (!common(env, argv, &base)) return NULL;
  base.k = sizeArg(env, argv[5]);
  void *csq, *labels, *sums, *counts;
  size_t csql, labelsl, sumsl, countsl;
  if (base.k == 0 || base.k > base.kp) return fail(env, "k must be in [1, kp]");
  if (!typedArray(env, argv[6], napi_float64_array, &csq, &csql) || csql < base.k) return fail(env, "csq must be a Float64Array of k");
  if (!typedArray(env, argv[7], napi_int32_array, &labels, &labelsl) || labelsl < base.n) return fail(env, "labels must be an Int32Array of n");
  if (!typedArray(env, argv[8], napi_float64_array, &sums, &sumsl) || sumsl < base.k * base.dim) return fail(env, "sums must be a Float64Array of k × dim");
  if (!typedArray(env, argv[9], napi_float64_array, &counts, &countsl) || countsl < base.k) return fail(env, "counts must be a Float64Array of k");
  base.csq = csq;
  base.labels = labels;
  Range ranges[MAX_THREADS];
  size_t threads = threadCount(base.n);
  double *mem = runRanges(&base, ranges, threads, 1, lloydRange);
  if (!mem) return fail(env, "out of memory");
  double *s = sums, *c = counts;
  memset(s, 0, base.k * base.dim * sizeof(double));
  memset(c, 0, base.k * sizeof(double));
  for (size_t t = 0; t < threads; t++) {
    for (size_t j = 0; j < base.k * base.dim; j++) s[j] += ranges[t].sums[j];
    for (size_t q = 0; q < base.k; q++) c[q] += ranges[t].counts[q];
  }
  free(mem);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "center", NAPI_AUTO_LENGTH, Center, NULL, &fn);
  napi_set_named_property(env, exports, "center", fn);
  napi_create_function(env, "seedStep", NAPI_AUTO_LENGTH, SeedStep, NULL, &fn);
  napi_set_named_property(env, exports, "seedStep", fn);
  napi_create_function(env, "centerDistances", NAPI_AUTO_LENGTH, CenterDistances, NULL, &fn);
  napi_set_named_property(env, exports, "centerDistances", fn);
  napi_create_function(env, "lloyd", NAPI_AUTO_LENGTH, Lloyd, NULL, &fn);
  napi_set_named_property(env, exports, "lloyd", fn);
  return exports;
}
