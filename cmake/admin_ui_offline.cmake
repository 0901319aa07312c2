# cmake -P: the Admin UI's files, made to work without the internet. The
# UI's index.html loads Material Design Icons and Roboto from public CDNs,
# which operators' networks often cannot reach (the buttons then show no
# icons); here they come from their npm packages instead, under vendor/,
# woff2 only (every browser the UI supports reads it).
#   -DSOURCE=ui/dist of @socket.io/admin-ui  -DMDI=@mdi/font  -DROBOTO=@fontsource/roboto
#   -DOUT=where the files go
foreach(var SOURCE MDI ROBOTO OUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "admin_ui_offline.cmake: -D${var}= is missing")
  endif()
endforeach()

file(REMOVE_RECURSE "${OUT}")
file(COPY "${SOURCE}/" DESTINATION "${OUT}")
file(COPY "${MDI}/css/materialdesignicons.min.css" DESTINATION "${OUT}/vendor/mdi/css")
file(COPY "${MDI}/fonts/materialdesignicons-webfont.woff2" DESTINATION "${OUT}/vendor/mdi/fonts")

# The weights index.html asks Google Fonts for, latin subset.
set(roboto_css "")
foreach(weight 100 300 400 500 700 900)
  file(READ "${ROBOTO}/latin-${weight}.css" face)
  string(APPEND roboto_css "${face}\n")
  file(COPY "${ROBOTO}/files/roboto-latin-${weight}-normal.woff2"
       DESTINATION "${OUT}/vendor/roboto/files")
endforeach()
file(WRITE "${OUT}/vendor/roboto/roboto.css" "${roboto_css}")

file(READ "${OUT}/index.html" html)
string(REPLACE "https://fonts.googleapis.com/css?family=Roboto:100,300,400,500,700,900"
               "vendor/roboto/roboto.css" html "${html}")
string(REPLACE "https://cdn.jsdelivr.net/npm/@mdi/font@latest/css/materialdesignicons.min.css"
               "vendor/mdi/css/materialdesignicons.min.css" html "${html}")
if(html MATCHES "(https?:)?//[a-z]")
  message(FATAL_ERROR "${SOURCE}/index.html still loads something from another site: "
                      "a new @socket.io/admin-ui? Update cmake/admin_ui_offline.cmake")
endif()
file(WRITE "${OUT}/index.html" "${html}")
