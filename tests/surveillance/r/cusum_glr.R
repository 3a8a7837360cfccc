# Golden files for healthwatch's cusum, glrpois and glrnb (R surveillance as the oracle).
# Usage: Rscript --vanilla cusum_glr.R <output folder>
# Each series is run on its own single-column sts so that R's control$m / control$mu0 (the
# in-control mean) can be written as the expected value of every series.
suppressMessages(library(surveillance))
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[1] else "."
dir.create(out, showWarnings = FALSE, recursive = TRUE)

as_matrix <- function(obj) {
  if (inherits(obj, "disProg")) obj <- disProg2sts(obj)
  o <- observed(obj)
  if (is.null(colnames(o))) colnames(o) <- paste0("s", seq_len(ncol(o)))
  o <- o[max(1, nrow(o) - 129):nrow(o), , drop = FALSE]  # the last 130 time points
  list(observed = o, freq = obj@freq)
}
ds <- list()
data(salmNewport); ds$salmNewport <- as_matrix(salmNewport)
data(ha.sts); ds$ha <- as_matrix(ha.sts)
data(measlesDE); ds$measlesDE <- as_matrix(measlesDE)
data(rotaBB); ds$rotaBB <- as_matrix(rotaBB)
data(m1); ds$m1 <- as_matrix(m1)
data(shadar); ds$shadar <- as_matrix(shadar)
data(salmonella.agona); ds$agona <- as_matrix(salmonella.agona)
pick <- function(d, cols) { d$observed <- d$observed[, cols, drop = FALSE]; d }
ds$salmNewport <- pick(ds$salmNewport, c("Berlin", "Bavaria"))
ds$ha <- pick(ds$ha, c("chwi", "span"))  # Berlin hepatitis A districts, many zeros
ds$measlesDE <- pick(ds$measlesDE, c("Bavaria", "Saarland"))
ds$rotaBB <- pick(ds$rotaBB, 1:2)
# a copy of a real series with missing values before the evaluated range (R's glm drops them)
na_copy <- ds$salmNewport
na_copy$observed[c(20, 21, 75), 1] <- NA
na_copy$observed[c(5, 60), 2] <- NA
ds$salmNewportNA <- na_copy

cases <- data.frame(case = character(), method = character(), dataset = character(),
                    freq = integer(), params = character(), stringsAsFactors = FALSE)

r_control <- function(params) {
  # healthwatch's snake_case params -> R control list (values already R objects)
  map <- c(c_arl = "c.ARL", mtilde = "Mtilde", x_max = "xMax")
  names(params) <- ifelse(names(params) %in% names(map), map[names(params)], names(params))
  params
}
fmt <- function(params) {
  v <- vapply(names(params), function(n) {
    x <- params[[n]]
    if (is.null(x)) paste0(n, "=NULL")
    else if (is.list(x)) paste0(n, "=list(", paste0(names(x), "=", unlist(x), collapse = ","), ")")
    else if (is.character(x)) paste0(n, "=", x)
    else paste0(n, "=", format(x, digits = 17))
  }, "")
  paste(v, collapse = ";")
}

run_case <- function(...) {
  # R itself fails on some inputs (e.g. glm.nb's theta.ml on sparse series): skip, say so
  r <- try(run_case1(...), silent = TRUE)
  if (inherits(r, "try-error")) message("skipped ", list(...)[[1]], ": ", r)
}
run_case1 <- function(name, method, dsname, rng, params, user_mu0 = NULL) {
  d <- ds[[dsname]]
  o <- d$observed
  rows <- list()
  for (j in seq_len(ncol(o))) {
    s <- sts(observed = o[, j, drop = FALSE], frequency = d$freq)
    ctrl <- r_control(params)
    ctrl$range <- rng
    if (!is.null(user_mu0)) ctrl[[if (method == "cusum") "m" else "mu0"]] <- user_mu0(rng, j)
    res <- switch(method,
      cusum = cusum(s, control = ctrl),
      glrpois = glrpois(s, control = ctrl),
      glrnb = suppressMessages(glrnb(s, control = ctrl)))
    expct <- rep(NA_real_, nrow(o))
    if (method == "cusum") expct[rng] <- res@control$m else expct[rng] <- res@control$mu0
    ub <- rep(NA_real_, nrow(o)); ub[rng] <- upperbound(res)[, 1]
    al <- rep(NA_real_, nrow(o)); al[rng] <- as.numeric(alarms(res)[, 1])
    inr <- rep(0L, nrow(o)); inr[rng] <- 1L
    rows[[j]] <- data.frame(series = colnames(o)[j], t = seq_len(nrow(o)), observed = o[, j],
                            population = NA, in_range = inr, expected = signif(expct, 10),
                            upperbound = signif(ub, 10), alarm = al)
  }
  write.csv(do.call(rbind, rows), file.path(out, paste0(name, ".csv")), row.names = FALSE,
            na = "NA")
  p <- params
  if (!is.null(user_mu0)) p[[if (method == "cusum") "m" else "mu0"]] <- "expected"
  cases[nrow(cases) + 1, ] <<- list(name, method, dsname, d$freq, fmt(p))
}
sine_mu0 <- function(rng, j) 2 + j * 0.5 + sin(2 * pi * rng / 52)

# ---- CUSUM: 6 datasets x (standard, rossi, anscombe, anscombe2nd/pearsonNegBin, user m) ----
cusum_sets <- list(
  standard = list(k = 1.04, h = 2.26, trans = "standard"),
  rossi = list(k = 0.5, h = 4, trans = "rossi"),
  anscombe = list(k = 1.04, h = 2.26, trans = "anscombe"))
for (dsn in c("salmNewport", "ha", "measlesDE", "rotaBB", "m1", "shadar")) {
  n <- nrow(ds[[dsn]]$observed)
  rng <- (n - 40):n
  for (pn in names(cusum_sets)) {
    # trimmed: no alarms there, and ha/m1 are covered by the m="glm" and "none" cases
    if (paste(dsn, pn) %in% c("ha anscombe", "m1 anscombe", "m1 rossi")) next
    run_case(paste0("cusum_", dsn, "_", pn), "cusum", dsn, rng, cusum_sets[[pn]])
  }
}
run_case("cusum_agona_anscombe2nd", "cusum", "agona", 60:130, list(trans = "anscombe2nd"))
run_case("cusum_salmNewport_negbin", "cusum", "salmNewport", 80:130,
         list(trans = "pearsonNegBin", alpha = 0.3))
run_case("cusum_ha_short", "cusum", "ha", 4:60, list(trans = "standard"))  # 3 weeks of history
# m = "glm" (Poisson GLM, one harmonic, fitted before range) and the transformations R does not
# invert (anscombeNegBin, none: upper bound h - S_t)
for (dsn in c("salmNewport", "rotaBB", "m1", "shadar")) {
  n <- nrow(ds[[dsn]]$observed)
  run_case(paste0("cusum_", dsn, "_glm"), "cusum", dsn, (n - 40):n,
           list(m = "glm", trans = if (dsn == "rotaBB") "rossi" else "standard"))
}
for (dsn in c("shadar", "salmNewport", "agona")) {  # R fails for a non-constant m
  n <- nrow(ds[[dsn]]$observed)
  run_case(paste0("cusum_", dsn, "_anscombeNegBin"), "cusum", dsn, (n - 40):n,
           list(trans = "anscombeNegBin", alpha = 0.3, k = 0.5, h = 3))
}
run_case("cusum_ha_none", "cusum", "ha", 90:130, list(trans = "none", k = 1, h = 4))
run_case("cusum_m1_none", "cusum", "m1", 90:130, list(trans = "none", k = 1, h = 5))
run_case("cusum_shadar_none", "cusum", "shadar", 90:130, list(trans = "none", k = 2, h = 5))
run_case("cusum_measlesDE_userm", "cusum", "measlesDE", 80:130, list(trans = "rossi"),
         user_mu0 = sine_mu0)

# ---- glrpois: 6 datasets x (default cases, value, dec/value, S=2+trend, user mu0) ----
for (dsn in c("salmNewport", "ha", "measlesDE", "rotaBB", "m1", "salmNewportNA")) {
  n <- nrow(ds[[dsn]]$observed)
  rng <- (n - 40):n
  run_case(paste0("glrpois_", dsn, "_cases"), "glrpois", dsn, rng, list(c_arl = 5))
  run_case(paste0("glrpois_", dsn, "_value"), "glrpois", dsn, rng,
           list(c_arl = 3, ret = "value"))
  run_case(paste0("glrpois_", dsn, "_dec"), "glrpois", dsn, rng,
           list(c_arl = 4, ret = "value", dir = "dec"))
}
run_case("glrpois_salmNewport_S2trend", "glrpois", "salmNewport", 60:130,
         list(mu0 = list(S = 2, trend = TRUE), ret = "value"))
run_case("glrpois_measlesDE_usermu0", "glrpois", "measlesDE", 80:130, list(ret = "cases"),
         user_mu0 = sine_mu0)
run_case("glrpois_ha_usermu0_dec", "glrpois", "ha", 80:130,
         list(ret = "cases", dir = "dec"), user_mu0 = function(rng, j) rep(0.8 * j, length(rng)))
run_case("glrpois_m1_theta", "glrpois", "m1", 80:130, list(theta = 0.7, ret = "cases"))
run_case("glrpois_ha_short", "glrpois", "ha", 8:70, list(ret = "value"))

# ---- glrnb: estimated alpha, fixed alpha, user mu0, LR-CUSUM ----
for (dsn in c("salmNewport", "measlesDE", "rotaBB", "m1", "shadar", "salmNewportNA")) {
  n <- nrow(ds[[dsn]]$observed)
  run_case(paste0("glrnb_", dsn, "_estalpha"), "glrnb", dsn, (n - 40):n,
           list(alpha = NULL, ret = "value"))
  run_case(paste0("glrnb_", dsn, "_alpha"), "glrnb", dsn, (n - 40):n,
           list(alpha = 0.3, ret = "value", c_arl = 4))
  run_case(paste0("glrnb_", dsn, "_cases"), "glrnb", dsn, (n - 20):n,
           list(alpha = NULL, ret = "cases"))
}
run_case("glrnb_measlesDE_usermu0", "glrnb", "measlesDE", 80:130,
         list(alpha = 0.5, ret = "value"), user_mu0 = sine_mu0)
run_case("glrnb_measlesDE_usermu0_dec", "glrnb", "measlesDE", 80:130,
         list(alpha = 0.5, ret = "value", dir = "dec"), user_mu0 = sine_mu0)
run_case("glrnb_salmNewport_theta", "glrnb", "salmNewport", 80:130,
         list(alpha = 0.2, theta = 0.6, ret = "cases"))
run_case("glrnb_ha_poisson", "glrnb", "ha", 60:130, list(ret = "value"))  # alpha = 0 default

write.csv(cases, file.path(out, "cases.csv"), row.names = FALSE)
