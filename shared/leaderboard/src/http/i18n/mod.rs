//! Localized problem titles: the language a request asks for (`Accept-Language`, RFC 9110
//! § 12.5.4, matched by RFC 4647 lookup) and one message catalogue for every problem type.
//!
//! English is the default and the fallback. The machine-readable members of a problem (`type`,
//! `status`, extension members) never change with the language; `title` and `detail` follow it,
//! and the response says which language it chose (`Content-Language`). In another language than
//! English the `detail` is the problem type's sentence from the catalogue, and the occurrence's
//! own detail — built in English where the error is raised, with the request's values (ids,
//! numbers, field names) — goes beside it as `detail_en`.

/// A language the catalogue speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English (the default).
    En,
    /// German.
    De,
    /// Spanish.
    Es,
    /// French.
    Fr,
    /// Japanese.
    Ja,
    /// Brazilian Portuguese (also what any `pt` asks for).
    PtBr,
}

impl Lang {
    /// Every language, English first.
    pub const ALL: [Lang; 6] = [Lang::En, Lang::De, Lang::Es, Lang::Fr, Lang::Ja, Lang::PtBr];

    /// Its language tag (`Content-Language`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Es => "es",
            Lang::Fr => "fr",
            Lang::Ja => "ja",
            Lang::PtBr => "pt-BR",
        }
    }

    /// The language a range names (`de`, `de-CH`, `pt`, `pt-PT`, `PT-br`…), if the catalogue
    /// has it: the primary subtag decides (Portuguese of any region is Brazilian Portuguese here).
    fn of_range(range: &str) -> Option<Lang> {
        let primary = range.split('-').next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "de" => Some(Lang::De),
            "es" => Some(Lang::Es),
            "fr" => Some(Lang::Fr),
            "ja" => Some(Lang::Ja),
            "pt" => Some(Lang::PtBr),
            _ => None,
        }
    }
}

/// The language for an `Accept-Language` header: the supported range with the highest weight
/// (the first listed among equals); `*`, nothing supported, no header or a malformed one:
/// English. A weight of 0 means "not this one".
pub fn negotiate(accept_language: Option<&str>) -> Lang {
    let Some(header) = accept_language else {
        return Lang::En;
    };
    let mut best: Option<(u16, Lang)> = None;
    for p in crate::negotiate::preferences(header) {
        if p.weight == 0 {
            continue;
        }
        let lang = if p.range == "*" {
            Some(Lang::En)
        } else {
            Lang::of_range(p.range)
        };
        if let Some(lang) = lang
            && best.is_none_or(|(w, _)| p.weight > w)
        {
            best = Some((p.weight, lang));
        }
    }
    best.map_or(Lang::En, |(_, lang)| lang)
}

mod details;
mod titles;

use details::details;
use titles::catalogue;

/// The title of the problem type `slug` (`LeaderboardError::slug`) in `lang`; `None` for a
/// slug the catalogue does not know.
pub fn title(slug: &str, lang: Lang) -> Option<&'static str> {
    let [en, de, es, fr, ja, pt] = catalogue(slug)?;
    Some(match lang {
        Lang::En => en,
        Lang::De => de,
        Lang::Es => es,
        Lang::Fr => fr,
        Lang::Ja => ja,
        Lang::PtBr => pt,
    })
}

/// The detail of the problem type `slug` in `lang`, for a language other than English (an
/// English problem keeps the occurrence's own detail); `None` for English or an unknown slug.
pub fn detail(slug: &str, lang: Lang) -> Option<&'static str> {
    let [de, es, fr, ja, pt] = details(slug)?;
    match lang {
        Lang::En => None,
        Lang::De => Some(de),
        Lang::Es => Some(es),
        Lang::Fr => Some(fr),
        Lang::Ja => Some(ja),
        Lang::PtBr => Some(pt),
    }
}

/// The detail of `err` in `lang` ([`detail`] of its type), where a conflict's says whether
/// sending the request again may help ([`crate::ConflictKind`]).
pub fn detail_of(err: &crate::LeaderboardError, lang: Lang) -> Option<&'static str> {
    match err {
        crate::LeaderboardError::Conflict(c) if !c.retryable() => {
            detail(details::STANDING_CONFLICT, lang)
        }
        _ => detail(err.slug(), lang),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::error::LeaderboardError;

    #[test]
    fn every_problem_type_has_every_language() {
        for slug in LeaderboardError::SLUGS {
            let en = title(slug, Lang::En).unwrap_or_else(|| panic!("{slug}: no titles"));
            for lang in Lang::ALL {
                let t = title(slug, lang).unwrap();
                assert!(!t.trim().is_empty(), "{slug} in {lang:?}");
                if lang != Lang::En {
                    assert_ne!(t, en, "{slug} in {lang:?} is the English title");
                }
            }
        }
    }

    #[test]
    fn every_problem_type_has_a_detail_in_every_other_language() {
        for slug in LeaderboardError::SLUGS {
            assert_eq!(detail(slug, Lang::En), None, "{slug}");
            for lang in Lang::ALL.into_iter().filter(|l| *l != Lang::En) {
                let d = detail(slug, lang).unwrap_or_else(|| panic!("{slug} in {lang:?}"));
                assert!(d.trim().len() > 5, "{slug} in {lang:?}");
            }
        }
    }

    #[test]
    fn a_conflict_says_whether_sending_it_again_may_help() {
        let raced = LeaderboardError::from(crate::Conflict::WindowMoved);
        let standing = LeaderboardError::from(crate::Conflict::RunOpen);
        for lang in Lang::ALL.into_iter().filter(|l| *l != Lang::En) {
            assert_eq!(detail_of(&raced, lang), detail("conflict", lang));
            let d = detail_of(&standing, lang).unwrap();
            assert_ne!(Some(d), detail("conflict", lang), "{lang:?}");
            assert!(d.trim().len() > 5, "{lang:?}");
        }
        assert_eq!(detail_of(&standing, Lang::En), None);
        assert_eq!(
            detail_of(&LeaderboardError::NotFound("x".into()), Lang::De),
            detail("not-found", Lang::De)
        );
    }

    #[test]
    fn the_catalogue_knows_no_other_types() {
        // Every title the errors give in English is the catalogue's English one.
        for slug in LeaderboardError::SLUGS {
            assert!(title(slug, Lang::En).is_some());
        }
        assert_eq!(title("no-such-type", Lang::De), None);
    }

    #[test]
    fn accept_language_picks_the_heaviest_supported_range() {
        let cases = [
            (None, Lang::En),
            (Some(""), Lang::En),
            (Some("de"), Lang::De),
            (Some("de-CH"), Lang::De),
            (Some("DE"), Lang::De),
            (Some("xx, fr;q=0.5"), Lang::Fr),
            (Some("ja;q=0.2, es;q=0.8"), Lang::Es),
            (Some("pt-PT"), Lang::PtBr),
            (Some("pt-BR,pt;q=0.9,en;q=0.8"), Lang::PtBr),
            (Some("de;q=0, fr"), Lang::Fr),
            (Some("de;q=0"), Lang::En),
            (Some("*"), Lang::En),
            (Some("zh-CN, *;q=0.1"), Lang::En),
            (Some("zh-CN"), Lang::En),
            (Some("fr;q=abc, de;q=0.3"), Lang::De),
            (Some("es;q=0.7, fr;q=0.7"), Lang::Es),
            (Some("fr;q=1.5"), Lang::En),
        ];
        for (header, want) in cases {
            assert_eq!(negotiate(header), want, "{header:?}");
        }
    }

    #[test]
    fn tags_are_what_content_language_says() {
        let tags: Vec<&str> = Lang::ALL.iter().map(|l| l.tag()).collect();
        assert_eq!(tags, ["en", "de", "es", "fr", "ja", "pt-BR"]);
    }
}
