# Golden files for healthwatch's farrington and farrington_flexible, written by R surveillance.
# Usage: Rscript --vanilla farrington.R OUTDIR   (base R + surveillance only; see _golden.py)
suppressMessages(library(surveillance))
args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args)) args[1] else "."
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)
options(warn = -1)

snake <- c(weightsThreshold = "weights_threshold", pThresholdTrend = "p_threshold_trend",
           populationOffset = "population_offset", noPeriods = "no_periods",
           pastWeeksNotIncluded = "past_weeks_not_included", thresholdMethod = "threshold_method")
fmt_value <- function(v) {
  if (is.logical(v)) return(if (v) "TRUE" else "FALSE")
  if (length(v) > 1) return(paste0("c(", paste(v, collapse = ","), ")"))
  as.character(v)
}
params_text <- function(ctrl) {
  keys <- names(ctrl)
  keys <- keys[keys != "range"]
  paste(vapply(keys, function(k) {
    nm <- if (k %in% names(snake)) snake[[k]] else k
    paste0(nm, "=", fmt_value(ctrl[[k]]))
  }, ""), collapse = ";")
}

# A plain index-based sts (epochAsDate = FALSE): reference weeks are t - i*freq +- w.
make_sts <- function(obs, freq, pop = NULL) {
  obs <- as.matrix(obs)
  if (is.null(colnames(obs))) colnames(obs) <- paste0("s", seq_len(ncol(obs)))
  if (is.null(pop)) sts(observed = obs, frequency = freq, start = c(2000, 1))
  else sts(observed = obs, frequency = freq, start = c(2000, 1), population = as.matrix(pop))
}

cases <- data.frame(case = character(), method = character(), dataset = character(),
                    freq = integer(), params = character(), stringsAsFactors = FALSE)

run_case <- function(case, method, dataset, obs, freq, range, ctrl, pop = NULL) {
  if (nzchar(Sys.getenv("HW_VERBOSE"))) message(case)
  obs <- as.matrix(obs)
  s <- make_sts(obs, freq, pop)
  n <- nrow(obs); k <- ncol(obs)
  expected <- upper <- alarm <- matrix(NA_real_, n, k)
  for (j in seq_len(k)) {
    sj <- s[, j]
    full <- c(ctrl, list(range = range))
    if (method == "farrington") {
      r <- farrington(sj, control = full)
      expected[range, j] <- r@control$pd[, 2]
    } else {
      r <- farringtonFlexible(sj, control = full)
      expected[range, j] <- r@control$expected
    }
    upper[range, j] <- upperbound(r)
    alarm[range, j] <- as.integer(alarms(r))
  }
  popcol <- if (is.null(pop)) rep(NA_real_, n * k) else as.vector(as.matrix(pop))
  in_range <- as.integer(seq_len(n) %in% range)
  out <- data.frame(series = rep(colnames(s), each = n), t = rep(seq_len(n), k),
                    observed = as.vector(obs), population = popcol,
                    in_range = rep(in_range, k), expected = signif(as.vector(expected), 12),
                    upperbound = signif(as.vector(upper), 12), alarm = as.vector(alarm))
  # keep the files small: leave out leading weeks no evaluated week looks back to
  b <- if (is.null(ctrl$b)) 5 else ctrl$b; w <- if (is.null(ctrl$w)) 3 else ctrl$w
  first_needed <- min(range) - b * freq - w
  out <- out[out$t >= first_needed, ]
  write.csv(out, file.path(outdir, paste0(case, ".csv")), row.names = FALSE, na = "NA",
            quote = FALSE)
  cases[nrow(cases) + 1, ] <<- list(case, method, dataset, freq, params_text(ctrl))
}

# ---- datasets (real series shipped with surveillance) ----------------------------------------
data("salmonella.agona"); data("salmNewport"); data("stsNewport"); data("ha.sts")
data("momo"); data("fluBYBW"); data("shadar"); data("influMen"); data("rotaBB")
data("m1"); data("k1"); data("salmAllOnset")

tail_rows <- function(m, keep) { m <- as.matrix(m); m[(nrow(m) - keep + 1):nrow(m), , drop = FALSE] }
agona <- matrix(salmonella.agona$observed, ncol = 1, dimnames = list(NULL, "agona"))
newport <- tail_rows(observed(salmNewport)[, c("Bavaria", "Berlin")], 320)  # many zeros
newport_us <- tail_rows(observed(stsNewport), 320)
hepa <- observed(ha.sts)[, c("mitt", "neuk")]                                   # 290 weeks, mostly 0
momo_obs <- tail_rows(observed(momo)[, c("[0,1)", "[75,85)")], 300)
momo_pop <- tail_rows(population(momo)[, c("[0,1)", "[75,85)")], 300)
colnames(momo_obs) <- colnames(momo_pop) <- c("age0_1", "age75_85")
flu_obs <- tail_rows(observed(fluBYBW)[, 1:2], 300)
flu_pop <- tail_rows(population(fluBYBW)[, 1:2], 300)
shad <- matrix(shadar$observed, ncol = 1, dimnames = list(NULL, "shadar"))
influ <- influMen$observed; colnames(influ) <- c("influenza", "meningococcal")
rota_obs <- observed(rotaBB)[, 1:2]; rota_pop <- population(rotaBB)[, 1:2]
short <- cbind(m1 = m1$observed, k1 = k1$observed)                                         # 209 weeks
salm_all <- tail_rows(observed(salmAllOnset), 300)
# a copy of a real series with missing values (in the references and the evaluated weeks)
agona_na <- agona; agona_na[c(60, 150, 205, 290, 300), 1] <- NA; colnames(agona_na) <- "agona_na"
# for classic farrington NA only where no reference window looks (R stops on NA references)
agona_na_late <- agona; agona_na_late[c(295, 300), 1] <- NA; colnames(agona_na_late) <- "agona_na"

last <- function(m, k) (nrow(m) - k + 1):nrow(m)

# ---- farringtonFlexible -----------------------------------------------------------------------
ff_default <- list(b = 5, w = 3)
ff_noufaily <- list(b = 4, w = 3, noPeriods = 10, weightsThreshold = 2.58,
                    pastWeeksNotIncluded = 26, pThresholdTrend = 1, thresholdMethod = "nbPlugin")
ff_muan_pop <- list(b = 3, w = 2, thresholdMethod = "muan", populationOffset = TRUE)
ff_notrend <- list(b = 4, w = 2, trend = FALSE, powertrans = "1/2", alpha = 0.01)
ff_none <- list(b = 3, w = 3, powertrans = "none", weightsThreshold = 1, limit54 = c(3, 2),
                noPeriods = 4, pastWeeksNotIncluded = 8)

run_case("ff_default_agona", "farrington_flexible", "salmonella.agona", agona, 52, last(agona, 40), ff_default)
run_case("ff_default_newport", "farrington_flexible", "salmNewport", newport, 52, last(newport, 30), ff_default)
run_case("ff_default_stsnewport", "farrington_flexible", "stsNewport", newport_us, 52, last(newport_us, 30), ff_default)
run_case("ff_default_shadar", "farrington_flexible", "shadar", shad, 52, last(shad, 30), ff_default)
run_case("ff_default_agona_na", "farrington_flexible", "salmonella.agona+NA", agona_na, 52, last(agona_na, 40), ff_default)
run_case("ff_default_salmall", "farrington_flexible", "salmAllOnset", salm_all, 52, last(salm_all, 30), ff_default)

run_case("ff_noufaily_agona", "farrington_flexible", "salmonella.agona", agona, 52, last(agona, 52), ff_noufaily)
run_case("ff_noufaily_newport", "farrington_flexible", "salmNewport", newport, 52, last(newport, 30), ff_noufaily)
run_case("ff_noufaily_hepa", "farrington_flexible", "ha.sts", hepa, 52, last(hepa, 30), ff_noufaily)
run_case("ff_noufaily_influ", "farrington_flexible", "influMen", influ, 52, last(influ, 30), ff_noufaily)
run_case("ff_noufaily_agona_na", "farrington_flexible", "salmonella.agona+NA", agona_na, 52, last(agona_na, 52), ff_noufaily)
run_case("ff_noufaily_momo", "farrington_flexible", "momo", momo_obs, 52, last(momo_obs, 30), ff_noufaily)

run_case("ff_muan_momo", "farrington_flexible", "momo", momo_obs, 52, last(momo_obs, 30), ff_muan_pop, momo_pop)
run_case("ff_muan_flu", "farrington_flexible", "fluBYBW", flu_obs, 52, last(flu_obs, 30), ff_muan_pop, flu_pop)
run_case("ff_muan_rota", "farrington_flexible", "rotaBB (monthly)", rota_obs, 12, last(rota_obs, 24), ff_muan_pop, rota_pop)
run_case("ff_muan_short", "farrington_flexible", "m1,k1 (209 weeks)", short, 52, 160:209, modifyList(ff_muan_pop, list(populationOffset = FALSE)))
run_case("ff_muan_agona", "farrington_flexible", "salmonella.agona", agona, 52, last(agona, 30), modifyList(ff_muan_pop, list(populationOffset = FALSE)))

run_case("ff_notrend_agona", "farrington_flexible", "salmonella.agona", agona, 52, last(agona, 30), ff_notrend)
run_case("ff_notrend_newport", "farrington_flexible", "salmNewport", newport, 52, last(newport, 30), ff_notrend)
run_case("ff_notrend_short", "farrington_flexible", "m1,k1 (209 weeks)", short, 52, (3 * 52 + 2 + 1):209, modifyList(ff_notrend, list(b = 3)))
run_case("ff_notrend_influ", "farrington_flexible", "influMen", influ, 52, last(influ, 30), ff_notrend)
run_case("ff_notrend_rota", "farrington_flexible", "rotaBB (monthly)", rota_obs, 12, last(rota_obs, 24), ff_notrend)

run_case("ff_none_agona", "farrington_flexible", "salmonella.agona", agona, 52, last(agona, 30), ff_none)
run_case("ff_none_hepa", "farrington_flexible", "ha.sts", hepa, 52, last(hepa, 30), ff_none)
run_case("ff_none_short", "farrington_flexible", "m1,k1 (209 weeks)", short, 52, 160:209, ff_none)
run_case("ff_none_shadar", "farrington_flexible", "shadar", shad, 52, last(shad, 30), ff_none)
run_case("ff_none_agona_na", "farrington_flexible", "salmonella.agona+NA", agona_na, 52, last(agona_na, 40), ff_none)

# ---- algo.farrington (via farrington for sts) ---------------------------------------------------
fa_default <- list(b = 5, w = 3)
fa_short <- list(b = 3, w = 2, alpha = 0.01, powertrans = "1/2")
fa_plain <- list(b = 4, w = 3, trend = FALSE, reweight = FALSE, powertrans = "none", limit54 = c(3, 2))

run_case("fa_default_agona", "farrington", "salmonella.agona", agona, 52, last(agona, 40), fa_default)
run_case("fa_default_newport", "farrington", "salmNewport", newport, 52, last(newport, 30), fa_default)
run_case("fa_default_stsnewport", "farrington", "stsNewport", newport_us, 52, last(newport_us, 30), fa_default)
run_case("fa_default_shadar", "farrington", "shadar", shad, 52, last(shad, 30), fa_default)
run_case("fa_default_salmall", "farrington", "salmAllOnset", salm_all, 52, last(salm_all, 30), fa_default)
run_case("fa_default_agona_na", "farrington", "salmonella.agona+NA", agona_na_late, 52, last(agona, 30), fa_default)

run_case("fa_short_agona", "farrington", "salmonella.agona", agona, 52, last(agona, 30), fa_short)
run_case("fa_short_m1k1", "farrington", "m1,k1 (209 weeks)", short, 52, 150:209, fa_short)
run_case("fa_short_hepa", "farrington", "ha.sts", hepa, 52, last(hepa, 30), fa_short)
run_case("fa_short_influ", "farrington", "influMen", influ, 52, last(influ, 30), fa_short)
run_case("fa_short_rota", "farrington", "rotaBB (monthly)", rota_obs, 12, last(rota_obs, 24), fa_short)

run_case("fa_plain_agona", "farrington", "salmonella.agona", agona, 52, last(agona, 30), fa_plain)
run_case("fa_plain_newport", "farrington", "salmNewport", newport, 52, last(newport, 30), fa_plain)
run_case("fa_plain_momo", "farrington", "momo", momo_obs, 52, last(momo_obs, 30), fa_plain)
run_case("fa_plain_m1k1", "farrington", "m1,k1 (209 weeks)", short, 52, 205:209, fa_plain)
run_case("fa_plain_agona_na", "farrington", "salmonella.agona+NA", agona_na_late, 52, last(agona, 30), fa_plain)

write.csv(cases, file.path(outdir, "cases.csv"), row.names = FALSE)
