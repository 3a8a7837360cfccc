# Golden files for EARS C1/C2/C3, Bayes, RKI and outbreakP from R's surveillance package.
#
# Usage: Rscript --vanilla ears_family.R <output folder>
# Writes cases.csv and one CSV per case in the format described in tests/surveillance/_golden.py.
# Inputs are real datasets shipped with surveillance, cut to a few series and time points to keep
# the files small; some are copies with missing values (NA) put in, some are short histories.
suppressMessages(library(surveillance))

args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args) >= 1) args[1] else "."
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)

get_obs <- function(name) {
  e <- new.env()
  data(list = name, envir = e)
  o <- get(name, envir = e)
  m <- if (is(o, "sts")) observed(o) else as.matrix(o$observed)
  if (is.null(colnames(m))) colnames(m) <- paste0(name, seq_len(ncol(m)))
  m
}

cut_obs <- function(name, rows, cols = 1) {
  m <- get_obs(name)
  m[rows, cols, drop = FALSE]
}

with_na <- function(m, rows) {
  m[rows, ] <- NA
  m
}

# Datasets: name -> matrix of counts (time x series).
datasets <- list(
  ha_sts = cut_obs("ha.sts", 101:160, c(1, 3)),         # Hepatitis A Berlin, mostly zeros
  measlesDE = cut_obs("measlesDE", 1:60, c(2, 16)),      # measles, zeros and bursts
  salmNewport = cut_obs("salmNewport", 401:460, c(1, 3)), # sparse series
  stsNewport_na = with_na(cut_obs("stsNewport", 301:360), c(20, 21, 45)),
  salmAllOnset = cut_obs("salmAllOnset", 601:660),
  m1_short = cut_obs("m1", 1:13)                           # short history
)

# Longer series (for methods that look back whole years).
datasets_long <- list(
  salmonella_agona = cut_obs("salmonella.agona", 1:130),
  shadar = cut_obs("shadar", 101:230),
  ha_sts = cut_obs("ha.sts", 1:130, 5),
  influMen_na = with_na(cut_obs("influMen", 1:130, 1), c(30, 111, 120)),
  k1 = cut_obs("k1", 1:130),
  q1_nrwh = cut_obs("q1_nrwh", 51:180)
)

datasets_outbreakp <- list(
  manual = matrix(c(1, 0, 3, 1, 2, 3, 5, 4, 7, 3, 5, 8, 16, 23, 33, 34, 48), ncol = 1,
                  dimnames = list(NULL, "manual")),
  influMen = cut_obs("influMen", 1:60, 1),
  shadar = cut_obs("shadar", 1:60),
  # Large counts: from t = 19 R's product of ratios overflows (it reports 0, then NA); up to
  # t = 18 it is finite. healthwatch works on the log scale (tested by hand beyond t = 18).
  salmAllOnset = cut_obs("salmAllOnset", 1:18),
  m1_zeros = cut_obs("m1", 1:40),
  momo = cut_obs("momo", 1:40, 1)
)

cases <- data.frame(case = character(), method = character(), dataset = character(),
                    freq = character(), params = character(), stringsAsFactors = FALSE)

write_case <- function(case, method, dataset, params, obs, rng, ub, alarm, expected = NULL) {
  tt <- nrow(obs)
  n <- ncol(obs)
  full <- function(v) {
    g <- matrix(NA_real_, tt, n)
    if (!is.null(v)) g[rng, ] <- as.numeric(v)
    g
  }
  in_range <- rep(0L, tt)
  in_range[rng] <- 1L
  cells <- data.frame(
    series = rep(colnames(obs), each = tt),
    t = rep(seq_len(tt), n),
    observed = as.vector(obs),
    population = NA,
    in_range = rep(in_range, n),
    expected = as.vector(full(expected)),
    upperbound = signif(as.vector(full(ub)), 12),
    alarm = as.integer(as.vector(full(alarm)))
  )
  write.csv(cells, file.path(outdir, paste0(case, ".csv")), row.names = FALSE, na = "NA")
  cases[nrow(cases) + 1, ] <<- list(case, method, dataset, "52", params)
}

as_sts <- function(obs) sts(observed = obs, frequency = 52, start = c(2000, 1))

fmt <- function(x) if (is.logical(x)) toupper(as.character(x)) else as.character(x)
params_text <- function(p) paste(paste0(names(p), "=", sapply(p, fmt)), collapse = ";")

# ---- EARS C1/C2/C3 -------------------------------------------------------------------------
ears_sets <- list(
  ears_c1 = list(list(baseline = 7, min_sigma = 0, alpha = 0.001),
                 list(baseline = 14, min_sigma = 1, alpha = 0.05),
                 list(baseline = 5, min_sigma = 0.5, alpha = 0.01)),
  ears_c2 = list(list(baseline = 7, min_sigma = 0, alpha = 0.001),
                 list(baseline = 10, min_sigma = 1, alpha = 0.05),
                 list(baseline = 4, min_sigma = 0.5, alpha = 0.2)),
  ears_c3 = list(list(baseline = 7, min_sigma = 0, alpha = 0.025),
                 list(baseline = 10, min_sigma = 1, alpha = 0.001),
                 list(baseline = 5, min_sigma = 0.5, alpha = 0.1))
)
for (method in names(ears_sets)) {
  r_method <- toupper(sub("ears_", "", method))
  for (i in seq_along(ears_sets[[method]])) {
    p <- ears_sets[[method]][[i]]
    for (ds in names(datasets)) {
      obs <- datasets[[ds]]
      first <- p$baseline + c(C1 = 1, C2 = 3, C3 = 5)[[r_method]]
      if (first > nrow(obs)) next
      res <- earsC(as_sts(obs), control = list(method = r_method, baseline = p$baseline,
                                                minSigma = p$min_sigma, alpha = p$alpha))
      rng <- res@control$range
      write_case(sprintf("%s_p%d_%s", method, i, ds), method, ds, params_text(p), obs, rng,
                 upperbound(res), alarms(res))
    }
  }
}

# ---- Bayes and RKI -------------------------------------------------------------------------
bayes_sets <- list(list(b = 0, w = 6, act_y = TRUE, alpha = 0.05),
                   list(b = 1, w = 3, act_y = TRUE, alpha = 0.01),
                   list(b = 2, w = 2, act_y = FALSE, alpha = 0.1))
rki_sets <- list(list(b = 2, w = 4, act_y = FALSE),
                 list(b = 0, w = 6, act_y = TRUE),
                 list(b = 1, w = 6, act_y = TRUE))
first_point <- function(p) max(if (p$b > 0) 52 * p$b + p$w + 1 else 1, if (p$act_y) p$w + 1 else 1)

run_algo <- function(fun, obs, rng, control) {
  ub <- matrix(NA_real_, length(rng), ncol(obs))
  al <- matrix(NA, length(rng), ncol(obs))
  for (j in seq_len(ncol(obs))) {
    dp <- suppressWarnings(create.disProg(week = seq_len(nrow(obs)), observed = obs[, j],
                                          state = rep(0, nrow(obs)), freq = 52))
    r <- fun(dp, control = c(list(range = rng), control))
    ub[, j] <- r$upperbound
    al[, j] <- r$alarm
  }
  list(ub = ub, alarm = al)
}

for (i in seq_along(bayes_sets)) {
  p <- bayes_sets[[i]]
  for (ds in names(datasets_long)) {
    obs <- datasets_long[[ds]]
    rng <- first_point(p):nrow(obs)
    r <- run_algo(algo.bayes, obs, rng, list(b = p$b, w = p$w, actY = p$act_y, alpha = p$alpha))
    write_case(sprintf("bayes_p%d_%s", i, ds), "bayes", ds, params_text(p), obs, rng, r$ub, r$alarm)
  }
}
# A series with large counts, so that the mean + 2 sd branch (means above 20) is exercised.
datasets_rki <- c(datasets_long, list(salmAllOnset = cut_obs("salmAllOnset", 501:630)))
for (i in seq_along(rki_sets)) {
  p <- rki_sets[[i]]
  for (ds in names(datasets_rki)) {
    obs <- datasets_rki[[ds]]
    rng <- first_point(p):nrow(obs)
    # R's algo.rki stops with "missing value where TRUE/FALSE needed" when a reference value
    # is NA: no golden case there (healthwatch's behaviour is tested by hand instead).
    if (anyNA(obs)) next
    r <- run_algo(algo.rki, obs, rng, list(b = p$b, w = p$w, actY = p$act_y))
    write_case(sprintf("rki_p%d_%s", i, ds), "rki", ds, params_text(p), obs, rng, r$ub, r$alarm)
  }
}

# ---- outbreakP -----------------------------------------------------------------------------
outbreakp_sets <- list(list(k = 100, ret = "value"),
                       list(k = 100, ret = "cases", max_upperbound_cases = 1e5),
                       list(k = 10, ret = "cases", max_upperbound_cases = 1e5),
                       list(k = 1000, ret = "value"))
for (i in seq_along(outbreakp_sets)) {
  p <- outbreakp_sets[[i]]
  for (ds in names(datasets_outbreakp)) {
    obs <- datasets_outbreakp[[ds]]
    rng <- seq_len(nrow(obs))
    control <- list(k = p$k, ret = p$ret)
    if (!is.null(p$max_upperbound_cases)) control$maxUpperboundCases <- p$max_upperbound_cases
    r <- run_algo(algo.outbreakP, obs, rng, control)
    write_case(sprintf("outbreakp_p%d_%s", i, ds), "outbreakp", ds, params_text(p), obs, rng,
               r$ub, r$alarm)
  }
}

write.csv(cases, file.path(outdir, "cases.csv"), row.names = FALSE)
