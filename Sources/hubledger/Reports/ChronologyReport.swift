import EventStore
import Foundation
import HubDomain
import Projections

/// The chronology as a safeguarding lead reads it: a dated timeline grouped by month, in plain words.
enum ChronologyReport {
    static func html(participant: String, flags: [FlagSummary], entries: [ChronologyEntry], head: LogHead?,
                     generated: Timestamp, now: Timestamp) -> String {
        var sessions: [String: JSONObject] = [:]
        for e in entries where e.event.type == EventType.sessionHeld.rawValue {
            if let s = e.event.data["session"]?.stringValue { sessions[s] = e.event.data }
        }
        var body = "<h1>Chronology of \(HTMLPage.escape(participant))</h1>"
        body += flagsBox(flags, now: now)
        body += "<p class=\"sub\">\(entries.count) \(entries.count == 1 ? "entry" : "entries"), in the order things happened. Struck-through entries were retracted; LATE marks entries recorded more than a day after they happened.</p>"
        var month = ""
        for entry in entries {
            let m = String(entry.event.occurredAt.dayString.prefix(7))
            if m != month {
                if !month.isEmpty { body += "</div>" }
                month = m
                body += "<h2 class=\"month\">\(HTMLPage.escape(monthName(m)))</h2><div class=\"timeline\">"
            }
            body += render(entry, sessions: sessions)
        }
        if !month.isEmpty { body += "</div>" }
        let footer = "Built from the log head \(HTMLPage.escape(head?.description ?? "(empty)")) on \(HTMLPage.escape(generated.rfc3339)). "
            + "Check it later with <code>hubledger verify --expect-head \(HTMLPage.escape(head?.description ?? ""))</code>. Special-category data: handle under need-to-know."
        return HTMLPage.page(title: "Chronology of \(participant)", body: body, footer: footer)
    }

    /// The active flags, in a box above everything else (or a line saying there are none).
    static func flagsBox(_ flags: [FlagSummary], now: Timestamp) -> String {
        guard !flags.isEmpty else { return "<section class=\"flags none\"><h2>Active flags</h2><p>No active flags.</p></section>" }
        var html = "<section class=\"flags\"><h2>Active flags (\(flags.count))</h2><ul>"
        for f in flags {
            html += "<li><span class=\"flag\">\(HTMLPage.escape(f.flag))</span> — raised \(HTMLPage.escape(f.raisedAt.dayString)) by \(HTMLPage.escape(f.raisedBy))"
            if let at = f.renewedAt { html += ", renewed \(HTMLPage.escape(at.dayString)) by \(HTMLPage.escape(f.renewedBy ?? "?"))" }
            if let review = f.reviewBy {
                html += "; review by \(HTMLPage.escape(review.text))"
                if f.isReviewOverdue(at: now) { html += " <span class=\"overdue\">OVERDUE</span>" }
            }
            html += "<div class=\"detail\">\(HTMLPage.escape(f.note ?? "(note not available)"))</div></li>"
        }
        return html + "</ul></section>"
    }

    static func monthName(_ yyyymm: String) -> String {
        let names = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
        guard let m = Int(yyyymm.suffix(2)), (1...12).contains(m) else { return yyyymm }
        return "\(names[m - 1]) \(yyyymm.prefix(4))"
    }

    static func render(_ entry: ChronologyEntry, sessions: [String: JSONObject]) -> String {
        let e = entry.event
        let (what, detail, css) = describe(e, sessions: sessions)
        var html = "<div class=\"entry \(css)\(entry.isRetracted ? " retracted" : "")\">"
        html += "<div class=\"when\">\(HTMLPage.escape(e.occurredAt.rfc3339.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " UTC")))"
        html += " · recorded by \(HTMLPage.escape(e.actor))"
        if entry.isRecordedLate { html += "<span class=\"late\">LATE: recorded \(HTMLPage.escape(e.recordedAt.dayString))</span>" }
        html += "</div><div class=\"what\">\(HTMLPage.escape(what))</div>"
        if !detail.isEmpty { html += "<div class=\"detail\">\(HTMLPage.escape(detail))</div>" }
        if let r = entry.retraction {
            html += "<div class=\"why\">Retracted on \(HTMLPage.escape(r.recordedAt.dayString)) by \(HTMLPage.escape(r.actor)): \(HTMLPage.escape(r.reason))</div>"
        }
        return html + "</div>"
    }

    static func words(_ raw: String?) -> String { (raw ?? "").replacingOccurrences(of: "-", with: " ") }
    static func capitalised(_ s: String) -> String { s.prefix(1).uppercased() + s.dropFirst() }

    /// The entry's headline and detail in plain words, and its highlight class.
    static func describe(_ e: RecordedEvent, sessions: [String: JSONObject]) -> (String, String, String) {
        let d = e.data
        func s(_ k: String) -> String { d[k]?.stringValue ?? "" }
        func text(_ k: String) -> String { SensitiveText.read(d[k]) ?? "" }
        switch EventType(rawValue: e.type) {
        case .participantRegistered?:
            let name = SensitiveText.read(d["name"]).map { "\($0): " } ?? ""
            return ("Registered at the \(capitalised(s("hub"))) hub", "\(name)\(capitalised(words(s("generation"))))\(d["birthYear"]?.intValue.map { ", born \($0)" } ?? ""), \(capitalised(words(s("region"))))", "")
        case .participantMoved?:
            return ("Moved to the \(capitalised(s("hub"))) hub", capitalised(words(s("region"))), "")
        case .consentGiven?:
            let by = s("givenBy") == "self" ? "themselves" : "a parent or guardian"
            return ("Consent given for \(words(s("scope"))) by \(by)", text("competenceNote"), "")
        case .consentWithdrawn?: return ("Consent withdrawn for \(words(s("scope")))", "", "")
        case .attendanceRecorded?:
            let session = sessions[s("session")]
            let place = session.map { "week \($0["week"]?.intValue ?? 0), \(capitalised($0["hub"]?.stringValue ?? ""))" }
            return ("Attended session \(s("session"))\(place.map { " (\($0))" } ?? "")", "", "")
        case .surveyCompleted?:
            let happier = d["happier"]?.boolValue == true ? "felt happier" : "did not feel happier"
            let connected = d["moreConnected"]?.boolValue == true ? "felt more connected" : "did not feel more connected"
            return ("Completed the exit survey after session \(s("session"))", "\(capitalised(happier)); \(connected).", "")
        case .signpostGiven?: return ("Signposted to \(s("service"))", capitalised(words(s("category"))), "")
        case .flagRaised?:
            return ("Flag raised: \(s("flag"))\(d["reviewBy"]?.stringValue.map { " (review by \($0))" } ?? "")", text("note"), "flag-entry")
        case .flagRemoved?: return ("Flag removed: \(s("flag"))", text("reason"), "")
        case .referralReceived?:
            return ("Referred by \(words(s("source")))\(d["urgent"]?.boolValue == true ? " (urgent)" : "") — referral \(s("referral"))",
                    "Referrer: \(text("referrer")). Reason: \(text("reason"))", "")
        case .referralContacted?: return ("Referral \(s("referral")): contacted by \(words(s("channel")))", "", "")
        case .referralAccepted?: return ("Referral \(s("referral")) accepted", "", "")
        case .referralDeclined?: return ("Referral \(s("referral")) declined", text("reason"), "")
        case .referralClosed?: return ("Referral \(s("referral")) closed (\(words(s("reason"))))", "", "")
        case .sessionHeld?:
            return ("Session \(s("session")) held at \(capitalised(s("hub")))", "Week \(d["week"]?.intValue ?? 0) of \(s("programme"))\(d["funder"]?.stringValue.map { ", funded by \($0)" } ?? "")", "")
        case .concernRaised?:
            let severity = s("severity")
            return ("Concern \(s("concern")) raised: \(severity), \(words(s("category")))",
                    "\(text("account")) Action taken: \(text("actionTaken")) DSL informed: \(d["dslInformed"]?.boolValue == true ? "yes" : "no").",
                    "concern-\(severity)")
        case .concernEscalated?:
            return ("Concern \(s("concern")) escalated to \(words(s("to")))", d["reference"]?.stringValue.map { "Reference \($0)" } ?? "", "concern-high")
        case .concernClosed?: return ("Concern \(s("concern")) closed", text("outcome"), "")
        case .eventRetracted?: return ("Correction recorded", "Retracted entry \(s("event")): \(text("reason"))", "")
        case nil where e.type == AccessRecords.erased:
            let held = d["retentionOverride"].map { _ in " The retention hold was overridden: \(text("retentionOverride"))." } ?? ""
            return ("Personal text erased (\(d["values"]?.intValue ?? 0) value(s))", "Reason: \(text("reason")).\(held)", "")
        case nil: return (e.type, JSONValue.object(d).jsonText, "")
        }
    }
}
