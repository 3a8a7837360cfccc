# Golden files for dated series (epochAsDate = TRUE): farrington and farringtonFlexible find each
# past year's reference period by calendar date, not by position. Written by R surveillance.
# Usage: Rscript --vanilla calendar.R OUTDIR   (base R + surveillance only; see _golden.py)
# Besides the columns of the other families, each cell file has a `date` column (ISO date).
suppressMessages(library(surveillance))
args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args)) args[1] else "."
dir.create(outdir, showWarnings = FALSE, recursive = TRUE)
options(warn = -1)

snake <- c(weightsThreshold = "weights_threshold", pThresholdTrend = "p_threshold_trend",
           populationOffset = "population_offset", noPeriods = "no_periods",
           pastWeeksNotIncluded = "past_weeks_not_included", thresholdMethod = "threshold_method",
           actY = "act_y")
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

cases <- data.frame(case = character(), method = character(), dataset = character(),
                    freq = integer(), params = character(), stringsAsFactors = FALSE)

# a dated sts: epoch holds the dates, epochAsDate = TRUE (as R's own data sets carry them)
run_case <- function(case, method, dataset, obs, dates, freq, range, ctrl, pop = NULL) {
  if (nzchar(Sys.getenv("HW_VERBOSE"))) message(case)
  obs <- as.matrix(obs)
  if (is.null(colnames(obs))) colnames(obs) <- paste0("s", seq_len(ncol(obs)))
  n <- nrow(obs); k <- ncol(obs)
  s <- if (is.null(pop)) {
    sts(observed = obs, epoch = as.numeric(dates), epochAsDate = TRUE, frequency = freq)
  } else {
    sts(observed = obs, epoch = as.numeric(dates), epochAsDate = TRUE, frequency = freq,
        population = as.matrix(pop))
  }
  expected <- upper <- alarm <- matrix(NA_real_, n, k)
  for (j in seq_len(k)) {
    sj <- s[, j]
    full <- c(ctrl, list(range = range))
    if (method == "farrington") {
      r <- farrington(sj, control = full)
      expected[range, j] <- r@control$pd[, 2]
    } else if (method == "farrington_flexible") {
      r <- farringtonFlexible(sj, control = full)
      expected[range, j] <- r@control$expected
    } else if (method == "bayes") {
      r <- bayes(sj, control = full)
    } else if (method == "rki") {
      r <- rki(sj, control = full)
    }
    upper[range, j] <- upperbound(r)
    alarm[range, j] <- as.integer(alarms(r))
  }
  popcol <- if (is.null(pop)) rep(NA_real_, n * k) else as.vector(as.matrix(pop))
  in_range <- as.integer(seq_len(n) %in% range)
  out <- data.frame(series = rep(colnames(obs), each = n), t = rep(seq_len(n), k),
                    date = rep(format(dates), k),
                    observed = as.vector(obs), population = popcol,
                    in_range = rep(in_range, k), expected = signif(as.vector(expected), 12),
                    upperbound = signif(as.vector(upper), 12), alarm = as.vector(alarm))
  write.csv(out, file.path(outdir, paste0(case, ".csv")), row.names = FALSE, na = "NA",
            quote = FALSE)
  cases[nrow(cases) + 1, ] <<- list(case, method, dataset, freq, params_text(ctrl))
}

last <- function(n, k) (n - k + 1):n
dates_of <- function(x) as.Date(epoch(x))

# ---- R's dated data sets ---------------------------------------------------------------------
data("salmNewport"); data("momo"); data("salmAllOnset"); data("stsNewport")
data("salmHospitalized"); data("rotaBB")

newport <- observed(salmNewport)[, c("Bavaria", "North.Rhine.Westphalia", "Hesse")]  # 2004-01-05 .. 2014-02-10
newport_dates <- dates_of(salmNewport)                                 # 2004, 2009: 53 ISO weeks
momo_obs <- observed(momo)[, c("[0,1)", "[75,85)")]                    # 1994 .. 2008
momo_pop <- population(momo)[, c("[0,1)", "[75,85)")]
colnames(momo_obs) <- colnames(momo_pop) <- c("age0_1", "age75_85")
momo_dates <- dates_of(momo)
salm_all <- observed(salmAllOnset); colnames(salm_all) <- "salmAllOnset"  # 2001 .. 2015
salm_all_dates <- dates_of(salmAllOnset)
us <- observed(stsNewport); colnames(us) <- "stsNewport"
us_dates <- dates_of(stsNewport)
hosp <- observed(salmHospitalized); colnames(hosp) <- "salmHospitalized"
hosp_dates <- dates_of(salmHospitalized)
rota_obs <- observed(rotaBB)[, 1:3]; rota_pop <- population(rotaBB)[, 1:3]  # monthly 2002 .. 2013
rota_dates <- dates_of(rotaBB)

# ---- own dated series ------------------------------------------------------------------------
set.seed(20261201)
season <- function(n, per) exp(0.5 * cos(2 * pi * seq_len(n) / per))
nb <- function(mu) rnbinom(length(mu), mu = mu, size = mu / 0.6)
# weekly, dated on Thursdays from 2012-01-05: the week of 2024-02-29 (a Thursday) looks one year
# back to 2023-03-01 (a Wednesday) and must take the nearest Thursday; 2015 and 2020 have 53
# ISO weeks, so the reference weeks of 2021..2024 are 157 or 209 weeks back, not 156 or 208
thu_dates <- seq(as.Date("2012-01-05"), as.Date("2024-12-26"), by = "1 week")
thu <- cbind(low = nb(2 * season(length(thu_dates), 52.18)),
             mid = nb(8 * season(length(thu_dates), 52.18)),
             high = nb(30 * season(length(thu_dates), 52.18)))
thu[c(600, 640), "mid"] <- thu[c(600, 640), "mid"] + 25   # past outbreaks to down-weight
# weekly on Sundays (R's weekday numbering starts there), 2014-12-28 .. 2021-12-26
sun_dates <- seq(as.Date("2014-12-28"), as.Date("2021-12-26"), by = "1 week")
sun <- cbind(a = nb(5 * season(length(sun_dates), 52.18)), b = nb(12 * season(length(sun_dates), 52.18)))
# daily 2017-01-01 .. 2024-06-30: 2020 and 2024 are leap years; 29 February 2024 looks back to
# 1 March 2023, and 1 March 2021 to 1 March 2020 (366 days)
day_dates <- seq(as.Date("2017-01-01"), as.Date("2024-06-30"), by = "1 day")
dow <- c(1.3, 1.1, 1, 1, 1, 0.7, 0.6)[as.POSIXlt(day_dates)$wday + 1]
day <- cbind(d1 = nb(4 * season(length(day_dates), 365.25) * dow),
             d2 = nb(15 * season(length(day_dates), 365.25) * dow))
leap_days <- which(day_dates >= as.Date("2024-02-20") & day_dates <= as.Date("2024-03-10"))
leap_days_2021 <- which(day_dates >= as.Date("2021-02-24") & day_dates <= as.Date("2021-03-05"))
# monthly on the first of the month, 2009-01 .. 2020-12 (trend in days / 31)
mon_dates <- seq(as.Date("2009-01-01"), as.Date("2020-12-01"), by = "1 month")
mon <- cbind(m1 = nb(20 * season(length(mon_dates), 12) * exp(0.004 * seq_along(mon_dates))),
             m2 = nb(60 * season(length(mon_dates), 12)))
n_thu <- length(thu_dates)

ff_default <- list(b = 5, w = 3)
ff_noufaily <- list(b = 4, w = 3, noPeriods = 10, weightsThreshold = 2.58,
                    pastWeeksNotIncluded = 26, pThresholdTrend = 1, thresholdMethod = "nbPlugin")
ff_muan_pop <- list(b = 3, w = 2, thresholdMethod = "muan", populationOffset = TRUE)
ff_notrend <- list(b = 4, w = 2, trend = FALSE, powertrans = "1/2", alpha = 0.01)
ff_blocks <- list(b = 3, w = 3, powertrans = "none", weightsThreshold = 1, limit54 = c(3, 2),
                  noPeriods = 4, pastWeeksNotIncluded = 8)
fa_default <- list(b = 5, w = 3)
fa_short <- list(b = 3, w = 2, alpha = 0.01, powertrans = "1/2")

# weekly, R's data sets
run_case("cal_ff_default_newport", "farrington_flexible", "salmNewport", newport, newport_dates, 52, last(nrow(newport), 52), ff_default)
run_case("cal_ff_noufaily_newport", "farrington_flexible", "salmNewport", newport, newport_dates, 52, last(nrow(newport), 52), ff_noufaily)
run_case("cal_ff_noufaily_momo", "farrington_flexible", "momo", momo_obs, momo_dates, 52, last(nrow(momo_obs), 52), ff_noufaily)
run_case("cal_ff_muan_momo", "farrington_flexible", "momo", momo_obs, momo_dates, 52, last(nrow(momo_obs), 40), ff_muan_pop, momo_pop)
run_case("cal_ff_blocks_salmall", "farrington_flexible", "salmAllOnset", salm_all, salm_all_dates, 52, last(nrow(salm_all), 52), ff_blocks)
run_case("cal_ff_notrend_us", "farrington_flexible", "stsNewport", us, us_dates, 52, last(nrow(us), 40), ff_notrend)
run_case("cal_ff_default_hosp", "farrington_flexible", "salmHospitalized", hosp, hosp_dates, 52, last(nrow(hosp), 40), ff_default)
run_case("cal_fa_default_newport", "farrington", "salmNewport", newport, newport_dates, 52, last(nrow(newport), 52), fa_default)
run_case("cal_fa_default_momo", "farrington", "momo", momo_obs, momo_dates, 52, last(nrow(momo_obs), 52), fa_default)
run_case("cal_fa_short_salmall", "farrington", "salmAllOnset", salm_all, salm_all_dates, 52, last(nrow(salm_all), 52), fa_short)
run_case("cal_fa_default_hosp", "farrington", "salmHospitalized", hosp, hosp_dates, 52, last(nrow(hosp), 40), fa_default)
# weekly, own series over 53-week years and 29 February
run_case("cal_ff_default_thursday", "farrington_flexible", "own weekly (Thursdays, 2012-2024)", thu, thu_dates, 52, last(n_thu, 60), ff_default)
run_case("cal_ff_noufaily_thursday", "farrington_flexible", "own weekly (Thursdays, 2012-2024)", thu, thu_dates, 52, last(n_thu, 60), ff_noufaily)
run_case("cal_ff_blocks_sunday", "farrington_flexible", "own weekly (Sundays, 2014-2021)", sun, sun_dates, 52, last(nrow(sun), 52), ff_blocks)
run_case("cal_fa_default_thursday", "farrington", "own weekly (Thursdays, 2012-2024)", thu, thu_dates, 52, last(n_thu, 60), fa_default)
run_case("cal_fa_short_sunday", "farrington", "own weekly (Sundays, 2014-2021)", sun, sun_dates, 52, last(nrow(sun), 52), fa_short)
# monthly: R's rotaBB and own months (the trend runs in days / length of the first step)
run_case("cal_ff_default_rota", "farrington_flexible", "rotaBB (monthly)", rota_obs, rota_dates, 12, last(nrow(rota_obs), 24), list(b = 5, w = 2))
run_case("cal_ff_muan_rota", "farrington_flexible", "rotaBB (monthly)", rota_obs, rota_dates, 12, last(nrow(rota_obs), 24), ff_muan_pop, rota_pop)
run_case("cal_ff_notrend_rota", "farrington_flexible", "rotaBB (monthly)", rota_obs, rota_dates, 12, last(nrow(rota_obs), 24), ff_notrend)
run_case("cal_ff_trend_months", "farrington_flexible", "own monthly (2009-2020)", mon, mon_dates, 12, last(nrow(mon), 36), list(b = 5, w = 2, pThresholdTrend = 1))
run_case("cal_ff_blocks_months", "farrington_flexible", "own monthly (2009-2020)", mon, mon_dates, 12, last(nrow(mon), 24), list(b = 4, w = 1, noPeriods = 3, pastWeeksNotIncluded = 1))
run_case("cal_fa_default_rota", "farrington", "rotaBB (monthly)", rota_obs, rota_dates, 12, last(nrow(rota_obs), 24), list(b = 5, w = 2))
run_case("cal_fa_short_months", "farrington", "own monthly (2009-2020)", mon, mon_dates, 12, last(nrow(mon), 24), fa_short)
# daily over leap days
run_case("cal_ff_default_daily", "farrington_flexible", "own daily (2017-2024)", day, day_dates, 365, leap_days, list(b = 3, w = 3))
run_case("cal_ff_default_daily_2021", "farrington_flexible", "own daily (2017-2024)", day, day_dates, 365, leap_days_2021, list(b = 3, w = 3))
run_case("cal_ff_noufaily_daily", "farrington_flexible", "own daily (2017-2024)", day, day_dates, 365, leap_days, ff_noufaily)
run_case("cal_fa_default_daily", "farrington", "own daily (2017-2024)", day, day_dates, 365, leap_days, fa_default)
run_case("cal_fa_default_daily_2021", "farrington", "own daily (2017-2024)", day, day_dates, 365, leap_days_2021, fa_default)
# methods R computes by position even on dated series (bayes and rki say so in a warning)
run_case("cal_bayes_newport", "bayes", "salmNewport", newport, newport_dates, 52, last(nrow(newport), 52), list(b = 2, w = 6, actY = TRUE, alpha = 0.05))
run_case("cal_rki_momo", "rki", "momo", momo_obs, momo_dates, 52, last(nrow(momo_obs), 52), list(b = 2, w = 4, actY = FALSE))

write.csv(cases, file.path(outdir, "cases.csv"), row.names = FALSE)
